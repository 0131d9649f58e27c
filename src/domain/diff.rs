//! How two versions of a text differ, line by line, as an editor reads it: the lines removed
//! and added between the lines both keep, with unchanged lines far from any change folded.
//!
//! The comparison is `similar`'s (Myers' algorithm). Its work grows with how different the texts
//! are, so it is given [`MOST_COMPARING`]: past it the rest is shown removed, then added,
//! which is still true, only less precise.

use std::time::{Duration, Instant};

use similar::{Algorithm, ChangeTag, TextDiff};

/// The longest one comparison may take before it settles for a coarser answer.
pub const MOST_COMPARING: Duration = Duration::from_millis(100);
/// Unchanged lines kept on each side of a change.
const CONTEXT: usize = 2;

/// One line of a diff between two texts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextLine<'a> {
    Same(&'a str),
    Removed(&'a str),
    Added(&'a str),
    /// Unchanged lines folded away.
    Folded(usize),
}

/// Line by line, what turns `before` into `after`.
pub fn line_diff<'a>(before: &'a str, after: &'a str) -> Vec<TextLine<'a>> {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .deadline(Instant::now() + MOST_COMPARING)
        .diff_lines(before, after);
    let lines = diff
        .iter_all_changes()
        .map(|change| {
            let text = change.value().trim_end_matches(['\n', '\r']);
            match change.tag() {
                ChangeTag::Equal => TextLine::Same(text),
                ChangeTag::Delete => TextLine::Removed(text),
                ChangeTag::Insert => TextLine::Added(text),
            }
        })
        .collect();
    fold_unchanged(lines)
}

/// Folds runs of unchanged lines, keeping [`CONTEXT`] lines beside each change.
fn fold_unchanged(lines: Vec<TextLine<'_>>) -> Vec<TextLine<'_>> {
    let changed: Vec<bool> = lines
        .iter()
        .map(|line| matches!(line, TextLine::Removed(_) | TextLine::Added(_)))
        .collect();
    let near_a_change = |at: usize| {
        let from = at.saturating_sub(CONTEXT);
        let to = (at + CONTEXT + 1).min(changed.len());
        changed[from..to].iter().any(|c| *c)
    };
    let mut folded = Vec::with_capacity(lines.len());
    let mut hidden = 0;
    for (at, line) in lines.into_iter().enumerate() {
        if matches!(line, TextLine::Same(_)) && !near_a_change(at) {
            hidden += 1;
            continue;
        }
        if hidden > 0 {
            folded.push(TextLine::Folded(hidden));
            hidden = 0;
        }
        folded.push(line);
    }
    if hidden > 0 {
        folded.push(TextLine::Folded(hidden));
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_removed_then_added_between_the_lines_around_it() {
        let before = "one\ntwo\nthree";
        let after = "one\n2\nthree";
        assert_eq!(
            line_diff(before, after),
            vec![
                TextLine::Same("one"),
                TextLine::Removed("two"),
                TextLine::Added("2"),
                TextLine::Same("three"),
            ]
        );
    }

    #[test]
    fn lines_moved_around_keep_the_longest_common_run() {
        let diff = line_diff("a\nb\nc\nd", "b\nc\na\nd");
        let same: Vec<_> = diff
            .iter()
            .filter_map(|line| match line {
                TextLine::Same(text) => Some(*text),
                _ => None,
            })
            .collect();
        assert_eq!(same, ["b", "c", "d"]);
        assert!(diff.contains(&TextLine::Removed("a")) && diff.contains(&TextLine::Added("a")));
    }

    #[test]
    fn identical_texts_fold_to_nothing_but_their_length() {
        assert_eq!(line_diff("a\nb\nc", "a\nb\nc"), vec![TextLine::Folded(3)]);
        assert_eq!(line_diff("", ""), Vec::<TextLine>::new());
    }

    #[test]
    fn unchanged_lines_far_from_a_change_are_folded() {
        let before: String = (1..=20).map(|n| format!("line {n}\n")).collect();
        let after = before.replace("line 10\n", "line ten\n");
        let diff = line_diff(&before, &after);
        assert_eq!(diff.first(), Some(&TextLine::Folded(7)));
        assert_eq!(diff.last(), Some(&TextLine::Folded(8)));
        assert!(
            diff.contains(&TextLine::Same("line 8")) && diff.contains(&TextLine::Same("line 12"))
        );
        assert!(!diff.contains(&TextLine::Same("line 7")));
    }

    #[test]
    fn texts_with_nothing_in_common_are_shown_removed_then_added() {
        let before: String = (0..1_000).map(|n| format!("old {n}\n")).collect();
        let after: String = (0..1_000).map(|n| format!("new {n}\n")).collect();
        let diff = line_diff(&before, &after);
        assert_eq!(diff.len(), 2_000);
        assert_eq!(diff[0], TextLine::Removed("old 0"));
        assert_eq!(diff[1_000], TextLine::Added("new 0"));
    }

    #[test]
    fn windows_line_endings_are_not_part_of_a_line() {
        assert_eq!(
            line_diff("a\r\nb\r\n", "a\r\nc\r\n"),
            vec![
                TextLine::Same("a"),
                TextLine::Removed("b"),
                TextLine::Added("c")
            ]
        );
    }
}
