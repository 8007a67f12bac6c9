//! Escaping for each output language: the one place that knows how a value is
//! quoted in an HAProxy or keepalived configuration, a PowerShell script, or HTML and
//! SVG (the report and the graph). Templates are rendered with
//! autoescaping on, so every `{{ value }}` passes through these functions; the
//! HAProxy frontends, written without the template engine, pass every value through
//! [`haproxy_word`].
//!
//! Values were validated at check time (no control characters, names are DNS
//! labels, paths are URI paths); escaping is the second line of defence, so that
//! nothing user-written can ever add a directive, a comment or a new line.

use std::borrow::Cow;
use std::io::Write;

/// Characters that need no quoting in HAProxy or keepalived configurations.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '.' | '_' | ':' | '/' | '-' | '=' | '%' | '@' | '~' | '+' | ','
        )
}

/// HAProxy configuration words: written as is when they hold only plain characters,
/// otherwise double-quoted with `\`, `"`, `$` (environment expansion) and `#`
/// escaped, and any control character written as `\xNN`.
pub fn haproxy(input: &str, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(haproxy_word(input).as_bytes())
}

/// [`haproxy`] as a string: the escaping of the load balancer's frontends, which
/// `emit::haproxy` writes without the template engine.
pub fn haproxy_word(input: &str) -> Cow<'_, str> {
    if !input.is_empty() && input.chars().all(is_plain) {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len() + 2);
    out.push('"');
    for c in input.chars() {
        match c {
            '\\' | '"' | '$' | '#' | '\'' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c) & 0xff)),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// keepalived configuration words: plain words as is; anything else double-quoted
/// with `"` and `\` escaped and control characters dropped (keepalived has no escape
/// for them, and validation keeps them out).
pub fn keepalived(input: &str, out: &mut dyn Write) -> std::io::Result<()> {
    if !input.is_empty() && input.chars().all(is_plain) {
        return out.write_all(input.as_bytes());
    }
    out.write_all(b"\"")?;
    for c in input.chars().filter(|c| !c.is_control()) {
        match c {
            '\\' | '"' => write!(out, "\\{c}")?,
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"\"")
}

/// PowerShell: every value is a single-quoted string literal, in which nothing is
/// expanded. A quote inside is doubled, and that includes the typographic quotes
/// PowerShell also accepts as single quotes (U+2018–U+201B); control characters
/// (kept out by validation) are dropped, since a single-quoted string cannot escape
/// them.
pub fn powershell(input: &str, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(b"'")?;
    for c in input.chars().filter(|c| !c.is_control()) {
        match c {
            '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => write!(out, "{c}{c}")?,
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"'")
}

/// HTML and XML (the report, the SVG graph): text and attribute values alike. `&`,
/// `<`, `>`, `"` and `'` become character references, so a value can never open a
/// tag, end an attribute or start an entity. Control characters and bidirectional-
/// text controls, which validation keeps out of values but a file or folder name can
/// still hold, are written visibly as `[U+202E]`: they cannot reorder the page's text
/// or be invalid XML.
pub fn html(input: &str, out: &mut dyn Write) -> std::io::Result<()> {
    for c in input.chars() {
        match c {
            '&' => out.write_all(b"&amp;")?,
            '<' => out.write_all(b"&lt;")?,
            '>' => out.write_all(b"&gt;")?,
            '"' => out.write_all(b"&quot;")?,
            '\'' => out.write_all(b"&#39;")?,
            c if crate::lower::value::is_unsafe_char(c) => write!(out, "[U+{:04X}]", u32::from(c))?,
            c => write!(out, "{c}")?,
        }
    }
    Ok(())
}

/// [`html`] into a new string.
pub fn html_string(input: &str) -> String {
    let mut buf = Vec::with_capacity(input.len());
    // Writing to a Vec cannot fail, and `html` writes only whole UTF-8 characters.
    let _ = html(input, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn esc(f: fn(&str, &mut dyn Write) -> std::io::Result<()>, s: &str) -> String {
        let mut buf = Vec::new();
        f(s, &mut buf).expect("write to a Vec");
        String::from_utf8(buf).expect("utf-8")
    }

    #[test]
    fn haproxy_quotes_anything_unusual() {
        assert_eq!(esc(haproxy, "be_svc_shop_web_80"), "be_svc_shop_web_80");
        assert_eq!(esc(haproxy, "10.20.2.1"), "10.20.2.1");
        assert_eq!(esc(haproxy, "/healthz"), "/healthz");
        assert_eq!(esc(haproxy, "/a b"), "\"/a b\"");
        assert_eq!(esc(haproxy, "/x#y"), "\"/x\\#y\"");
        assert_eq!(esc(haproxy, "$(reboot)"), "\"\\$(reboot)\"");
        assert_eq!(esc(haproxy, "a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(esc(haproxy, "x\ny"), "\"x\\x0ay\"");
        assert_eq!(esc(haproxy, ""), "\"\"");
    }

    #[test]
    fn powershell_single_quotes_everything() {
        assert_eq!(esc(powershell, "shop"), "'shop'");
        assert_eq!(esc(powershell, "it's"), "'it''s'");
        assert_eq!(esc(powershell, "$(rm -r /); `x`"), "'$(rm -r /); `x`'");
        assert_eq!(esc(powershell, "a\u{2019}b"), "'a\u{2019}\u{2019}b'");
        assert_eq!(esc(powershell, "x\ny"), "'xy'");
    }

    #[test]
    fn html_escapes_markup_and_shows_controls() {
        assert_eq!(esc(html, "shop"), "shop");
        assert_eq!(
            esc(html, "<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(esc(html, "a\"b'c&d"), "a&quot;b&#39;c&amp;d");
        assert_eq!(esc(html, "x\u{202E}y\u{0}z"), "x[U+202E]y[U+0000]z");
        assert_eq!(esc(html, "é ✓"), "é ✓");
        assert_eq!(html_string("<b>"), "&lt;b&gt;");
    }

    #[test]
    fn keepalived_quotes_and_drops_controls() {
        assert_eq!(esc(keepalived, "eth0"), "eth0");
        assert_eq!(esc(keepalived, "10.20.2.1/16"), "10.20.2.1/16");
        assert_eq!(esc(keepalived, "a b\n}"), "\"a b}\"");
    }
}
