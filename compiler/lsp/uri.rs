//! `file:` URIs ↔ paths. Only local files are served; any other URI is ignored.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::Uri;

/// The path of a `file:` URI (percent-decoded), or `None` for other schemes and
/// malformed escapes.
pub fn to_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // An authority, if any, must be empty or `localhost`.
    let path = if rest.starts_with('/') {
        rest
    } else {
        rest.strip_prefix("localhost")?
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path)?;
    // `file:///C:/x` on Windows is the path `C:/x`.
    let decoded = if cfg!(windows) && decoded.get(2..3) == Some(":") {
        decoded.get(1..).unwrap_or("").to_string()
    } else {
        decoded
    };
    Some(PathBuf::from(decoded))
}

/// The `file:` URI of an absolute path.
pub fn from_path(path: &Path) -> Option<Uri> {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&out).ok()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_paths_with_spaces_and_unicode() {
        let path = Path::new("/tmp/my project/é.kdl");
        let uri = from_path(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/my%20project/%C3%A9.kdl");
        assert_eq!(to_path(&uri).unwrap(), path);
    }

    #[test]
    fn refuses_other_schemes_and_non_utf8_paths() {
        assert_eq!(
            to_path(&Uri::from_str("untitled:Untitled-1").unwrap()),
            None
        );
        assert_eq!(
            to_path(&Uri::from_str("file://localhost/a/b.kdl").unwrap()),
            Some(PathBuf::from("/a/b.kdl"))
        );
        assert_eq!(to_path(&Uri::from_str("file:///a%FF").unwrap()), None);
    }
}
