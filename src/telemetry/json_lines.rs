//! Production's log format: one JSON object per line, written without re-reading anything.
//!
//! tracing-subscriber's own JSON format keeps each span's fields as JSON text, builds a map to
//! write them, and parses that text back into a map for every line it writes, which cost more
//! than the rest of a static page's request. Here a span's fields are written once as JSON
//! object text ([`SpanFields`]; a field recorded later is appended to it), and a line splices
//! that text in as it is:
//!
//! `{"timestamp":"...","level":"INFO","target":"gazette::...","message":"answered",
//! "status":200,...,"spans":[{"name":"HTTP request","request_id":"...",...}]}`
//!
//! The outermost span comes first (the request's, with its `request_id`), as before.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// One JSON object per event, with the spans it happened in.
pub struct JsonLines;

/// A span's fields as one JSON object's text: `{"a":1,"b":"two"}`.
pub struct SpanFields;

impl<'writer> FormatFields<'writer> for SpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        writer.write_char('{')?;
        let mut pairs = JsonPairs {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut pairs);
        pairs.result?;
        writer.write_char('}')
    }

    /// Appends the fields recorded later inside the object already written.
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        if current.fields.is_empty() {
            return self.format_fields(current.as_writer(), fields);
        }
        let first = current.fields == "{}";
        current.fields.pop();
        let mut writer = current.as_writer();
        let mut pairs = JsonPairs {
            writer: &mut writer,
            first,
            result: Ok(()),
        };
        fields.record(&mut pairs);
        pairs.result?;
        writer.write_char('}')
    }
}

impl<S> FormatEvent<S, SpanFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, SpanFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\",\"target\":", meta.level())?;
        write_json_str(&mut writer, meta.target())?;
        let mut fields = JsonPairs {
            writer: &mut writer,
            first: false,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        if let Some(scope) = ctx.event_scope() {
            writer.write_str(",\"spans\":[")?;
            for (at, span) in scope.from_root().enumerate() {
                if at > 0 {
                    writer.write_char(',')?;
                }
                writer.write_str("{\"name\":")?;
                write_json_str(&mut writer, span.name())?;
                let extensions = span.extensions();
                let recorded = extensions
                    .get::<FormattedFields<SpanFields>>()
                    .map(|fields| fields.fields.as_str())
                    .unwrap_or_default();
                // `{"a":1,"b":2}` becomes `,"a":1,"b":2}`; nothing recorded, `}`.
                match recorded.strip_prefix('{').filter(|rest| rest.len() > 1) {
                    Some(rest) => {
                        writer.write_char(',')?;
                        writer.write_str(rest)?;
                    }
                    None => writer.write_char('}')?,
                }
            }
            writer.write_char(']')?;
        }
        writer.write_str("}\n")
    }
}

/// Writes fields as `"name":value` pairs, each after a comma but the first (when `first`).
struct JsonPairs<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl JsonPairs<'_, '_> {
    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let first = std::mem::replace(&mut self.first, false);
        self.result = (|| {
            if !first {
                self.writer.write_char(',')?;
            }
            write_json_str(self.writer, field.name())?;
            self.writer.write_char(':')?;
            value(self.writer)
        })();
    }
}

impl Visit for JsonPairs<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.pair(field, |w| write_json_str(w, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |w| write!(w, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |w| write!(w, "{value}"));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.pair(field, |w| write!(w, "{value}"));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.pair(field, |w| write!(w, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |w| write!(w, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those are written as text.
        if value.is_finite() {
            self.pair(field, |w| write!(w, "{value}"));
        } else {
            self.pair(field, |w| write_json_str(w, &value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, |w| {
            w.write_char('"')?;
            write!(JsonEscaped(w), "{value:?}")?;
            w.write_char('"')
        });
    }
}

/// `text` as a JSON string, quotes and escapes included.
fn write_json_str(writer: &mut Writer<'_>, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    write_escaped(writer, text)?;
    writer.write_char('"')
}

/// Writes what is formatted into it escaped for the inside of a JSON string, as it comes:
/// a value is never formatted into a string of its own first.
struct JsonEscaped<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for JsonEscaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_escaped(self.0, text)
    }
}

fn write_escaped(writer: &mut Writer<'_>, text: &str) -> fmt::Result {
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        writer.write_str(&text[start..at])?;
        if escaped.is_empty() {
            write!(writer, "\\u{byte:04x}")?;
        } else {
            writer.write_str(escaped)?;
        }
        start = at + 1;
    }
    writer.write_str(&text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_str(text: &str) -> String {
        let mut out = String::new();
        write_json_str(&mut Writer::new(&mut out), text).unwrap();
        out
    }

    #[test]
    fn strings_are_escaped_as_json_reads_them_back() {
        for text in [
            "plain",
            "a \"quote\"",
            "back\\slash",
            "new\nline\ttab",
            "\u{1}ctl",
            "é ü 日本",
        ] {
            let written = json_str(text);
            let back: String = serde_json::from_str(&written).unwrap();
            assert_eq!(back, text, "{written}");
        }
    }

    #[test]
    fn a_line_is_one_json_object_with_its_fields_and_spans() {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::fmt::MakeWriter;

        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        impl<'a> MakeWriter<'a> for Lines {
            type Writer = Lines;
            fn make_writer(&'a self) -> Lines {
                self.clone()
            }
        }

        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(SpanFields)
            .event_format(JsonLines)
            .with_writer(lines.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "HTTP request",
                request_id = "r-1",
                http.route = "/a",
                later = tracing::field::Empty
            );
            span.record("later", 7u64);
            let _entered = span.enter();
            let inner = tracing::info_span!("inner");
            let _inner = inner.enter();
            tracing::info!(
                status = 200u16,
                elapsed_ms = 3u64,
                ok = true,
                "answered \"fast\""
            );
        });
        let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(written.trim_end()).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "answered \"fast\"");
        assert_eq!(
            (line["status"].as_u64(), line["ok"].as_bool()),
            (Some(200), Some(true))
        );
        assert_eq!(line["spans"][0]["name"], "HTTP request");
        assert_eq!(line["spans"][0]["request_id"], "r-1");
        assert_eq!(line["spans"][0]["http.route"], "/a");
        assert_eq!(line["spans"][0]["later"], 7);
        assert_eq!(line["spans"][1], serde_json::json!({"name": "inner"}));
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
