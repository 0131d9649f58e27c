//! Where a reader may be sent after logging in or subscribing: only back into this site.

/// `next` when it is a local path (one leading `/`, no scheme, no host), else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|path| is_local_path(path))
        .map_or_else(|| "/".to_string(), str::to_string)
}

/// `next` when it is a local path, else empty: for carrying `next` through a form.
pub fn local_or_empty(next: Option<&str>) -> String {
    next.filter(|path| is_local_path(path))
        .unwrap_or_default()
        .to_string()
}

pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= 2048
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(safe_next(Some("/articles/3")), "/articles/3");
        assert_eq!(safe_next(Some("/account?tab=1")), "/account?tab=1");
    }

    #[test]
    fn anything_that_could_leave_the_site_falls_back_to_home() {
        for bad in [
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/\t/evil.example",
            "",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
