//! A report as one self-contained HTML page: no network request, data escaped.

use serde_json::Value;

/// The page: styles and script inline, the report embedded as JSON in a
/// `<script type="application/json">` element.
const PAGE: &str = include_str!("page.html");

/// A report as one self-contained HTML page that works offline: the span tree with
/// duration bars, expand and collapse, a filter, each span's raw payloads, error spans
/// marked; large trees are drawn 500 children at a time. The report's JSON is escaped so
/// that no text inside a trace (`</script>`, `<!--`, `$&`, line separators) can end the data
/// element or run as script, and a Content-Security-Policy forbids any network request.
///
/// ```
/// let report = osprof_core::report::build([]);
/// let page = osprof_core::report::to_html(&report);
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// ```
pub fn to_html(report: &Value) -> String {
    let mut json = Vec::new();
    super::json::write(report, &mut json, false).expect("writing to memory cannot fail");
    let json = String::from_utf8(json).expect("JSON text is UTF-8");
    let mut escaped = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            '\u{2028}' => escaped.push_str("\\u2028"),
            '\u{2029}' => escaped.push_str("\\u2029"),
            c => escaped.push(c),
        }
    }
    // `str::replace` takes the replacement literally: `$` in the data means nothing to it.
    PAGE.replacen("/*DATA*/", &escaped, 1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn trace_text_cannot_close_the_data_element() {
        let page = super::to_html(
            &json!({"children": [{"info": {"name": "</script><script>alert(1)</script> $& $'"}}]}),
        );
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "only the page's own two script elements"
        );
        assert!(page.contains(r"\u003c/script\u003e\u003cscript\u003ealert(1)"));
        assert!(
            page.contains(r"$\u0026 $'"),
            "`$` sequences are kept as they are"
        );
    }
}
