//! Production's log format: one JSON object per line, written without re-reading anything.
//!
//! tracing-subscriber's own JSON format keeps each span's fields as JSON text and parses that
//! text back into a map for every line it writes, which cost more than the rest of a static
//! page's request. Here each span's fields are kept as the JSON object text they already are
//! (`JsonFields`), and a line splices that text in as it is:
//!
//! `{"timestamp":"...","level":"INFO","target":"gazette::...","message":"answered",
//! "status":200,...,"spans":[{"name":"HTTP request","request_id":"...",...}]}`
//!
//! The outermost span comes first (the request's, with its `request_id`), as before.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// One JSON object per event, with the spans it happened in.
pub struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\",\"target\":", meta.level())?;
        write_json_str(&mut writer, meta.target())?;
        let mut fields = EventFields {
            writer: &mut writer,
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
                    .get::<FormattedFields<JsonFields>>()
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

/// Writes an event's fields as `,"name":value` pairs.
struct EventFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl EventFields<'_, '_> {
    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            self.writer.write_char(',')?;
            write_json_str(self.writer, field.name())?;
            self.writer.write_char(':')?;
            value(self.writer)
        })();
    }
}

impl Visit for EventFields<'_, '_> {
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
        self.pair(field, |w| write_json_str(w, &format!("{value:?}")));
    }
}

/// `text` as a JSON string, quotes and escapes included.
fn write_json_str(writer: &mut Writer<'_>, text: &str) -> fmt::Result {
    writer.write_char('"')?;
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
    writer.write_str(&text[start..])?;
    writer.write_char('"')
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
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_writer(lines.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("HTTP request", request_id = "r-1", http.route = "/a");
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
        assert_eq!(line["spans"][1], serde_json::json!({"name": "inner"}));
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
