//! Typed values: turns one KDL value into a `Value` of the type the schema expects,
//! or reports why it cannot (wrong type, malformed address, bad name, unsafe text).
//!
//! Every string that can reach a generated file passes `check_text` here, so control
//! characters, line breaks and bidirectional-text controls never get past lowering.
//! Each `validate_*` function is pure and reusable by later checks and by the emitters'
//! tests.

use std::net::IpAddr;

use crate::parse::tree::Raw;
use ipnet::IpNet;

use super::schema::{quote_list, Ty};
use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::source::{Span, Spanned};
use crate::suggest::did_you_mean;

/// Longest string accepted anywhere in the language, in characters.
pub const MAX_TEXT_CHARS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Net(IpNet),
    Ip(IpAddr),
    Port(u16),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Port(p) => Some(i64::from(*p)),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_net(&self) -> Option<IpNet> {
        match self {
            Value::Net(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            _ => None,
        }
    }

    pub fn as_port(&self) -> Option<u16> {
        match self {
            Value::Port(p) => Some(*p),
            _ => None,
        }
    }
}

/// Where a value sits and what it is for, for messages.
pub struct ValueSite<'a> {
    /// "argument `name` of `network`", "property `count` of `control-plane`":
    /// written only when there is something to report.
    pub what: &'a dyn std::fmt::Display,
    pub span: Span,
    /// The KDL type annotation, if any, and its span.
    pub annotation: Option<(&'a str, Span)>,
}

fn kdl_kind(value: &Raw) -> &'static str {
    match value {
        Raw::String(_) => "a string",
        Raw::Integer(_) => "an integer",
        Raw::Float(_) => "a decimal number",
        Raw::Bool(_) => "a boolean",
        Raw::Null => "#null",
    }
}

/// Converts a KDL value to the type `ty`, reporting a diagnostic on failure.
pub fn lower_value(
    ty: Ty,
    raw: &Raw,
    site: &ValueSite<'_>,
    diags: &mut Diagnostics,
) -> Option<Spanned<Value>> {
    if let Some((annotation, ann_span)) = site.annotation {
        let plain_string =
            annotation == "string" && wants_string(ty) && matches!(raw, Raw::String(_));
        if !ty.annotations().contains(&annotation) && !plain_string {
            let help = if ty.annotations().is_empty() {
                "remove the annotation; this value takes none".to_string()
            } else {
                format!(
                    "remove the annotation, or write {}",
                    quote_list_paren(ty.annotations())
                )
            };
            diags.push(
                Diagnostic::new(
                    &codes::TYPE_ANNOTATION_MISMATCH,
                    ann_span,
                    format!(
                        "type annotation `({annotation})` does not fit {}, which expects {}",
                        site.what,
                        ty.describe()
                    ),
                )
                .label("this annotation")
                .help(help),
            );
            return None;
        }
    }
    let span = site.span;
    let wrong_type = |diags: &mut Diagnostics| {
        let mut diag = Diagnostic::new(
            &codes::WRONG_VALUE_TYPE,
            span,
            format!(
                "{} expects {}, found {}",
                site.what,
                ty.describe(),
                kdl_kind(raw)
            ),
        )
        .label(format!("expected {}", ty.describe()));
        if let (Raw::Float(_), Ty::PortOrName) = (raw, ty) {
            diag = diag.help("a port is a whole number from 1 to 65535, or a port name");
        } else if let (Raw::Integer(_) | Raw::Float(_), true) = (raw, wants_string(ty)) {
            diag = diag.help("put the value in double quotes");
        } else if let (Raw::String(s), Ty::Int { .. } | Ty::Port) = (raw, ty) {
            if s.trim().parse::<i64>().is_ok() {
                diag = diag.help("write the number without quotes");
            }
        } else if let (Raw::String(s), Ty::Bool) = (raw, ty) {
            if matches!(s.as_ref(), "true" | "false") {
                diag = diag.help(format!("KDL writes booleans as #{s}"));
            }
        }
        diags.push(diag);
        None
    };
    let value = match (ty, raw) {
        (Ty::Int { min, max }, Raw::Integer(i)) => {
            if *i < i128::from(min) || *i > i128::from(max) {
                diags.push(
                    Diagnostic::new(
                        &codes::NUMBER_OUT_OF_RANGE,
                        span,
                        format!("{} is {i}, outside the range {min} to {max}", site.what),
                    )
                    .label(format!("must be from {min} to {max}"))
                    .help(format!("use a number from {min} to {max}")),
                );
                return None;
            }
            Value::Int(i64::try_from(*i).ok()?)
        }
        (Ty::Port | Ty::PortOrName, Raw::Integer(i)) => match u16::try_from(*i) {
            Ok(p) if p >= 1 => Value::Port(p),
            _ => {
                diags.push(
                    Diagnostic::new(
                        &codes::INVALID_PORT,
                        span,
                        format!("{} is {i}, not a port number", site.what),
                    )
                    .label("must be from 1 to 65535"),
                );
                return None;
            }
        },
        (Ty::Bool, Raw::Bool(b)) => Value::Bool(*b),
        (_, Raw::String(s)) if wants_string(ty) => {
            if !check_text(s, span, site.what, diags) {
                return None;
            }
            lower_string(ty, s, site, diags)?
        }
        _ => return wrong_type(diags),
    };
    Some(Spanned::new(value, span))
}

fn quote_list_paren(items: &[&str]) -> String {
    let wrapped: Vec<String> = items.iter().map(|s| format!("({s})")).collect();
    let refs: Vec<&str> = wrapped.iter().map(String::as_str).collect();
    quote_list(&refs).replace('"', "`")
}

fn wants_string(ty: Ty) -> bool {
    !matches!(ty, Ty::Int { .. } | Ty::Bool | Ty::Port)
}

fn lower_string(ty: Ty, s: &str, site: &ValueSite<'_>, diags: &mut Diagnostics) -> Option<Value> {
    let span = site.span;
    let fail =
        |diags: &mut Diagnostics, code, message: String, label: &str, help: Option<String>| {
            let mut diag = Diagnostic::new(code, span, message).label(label);
            if let Some(help) = help {
                diag = diag.help(help);
            }
            diags.push(diag);
            None
        };
    match ty {
        Ty::Text | Ty::Path | Ty::Ref(_) => Some(Value::Str(s.to_string())),
        Ty::K8sName => match validate_dns_label(s) {
            Ok(()) => Some(Value::Str(s.to_string())),
            Err(why) => fail(diags, &codes::INVALID_K8S_NAME, format!("`{s}` is not a valid Kubernetes name: {why}"), "invalid name", suggest_k8s_name(s)),
        },
        Ty::ServiceName => match validate_dns_label(s).and_then(|()| {
            if s.starts_with(|c: char| c.is_ascii_lowercase()) {
                Ok(())
            } else {
                Err("a Service name must start with a letter (DNS-1035)".to_string())
            }
        }) {
            Ok(()) => Some(Value::Str(s.to_string())),
            Err(why) => {
                let fixed = suggest_k8s_name(s)
                    .and_then(|h| h.strip_prefix("try \"").and_then(|t| t.strip_suffix('"')).map(str::to_string))
                    .unwrap_or_else(|| s.to_string());
                let help = if fixed.starts_with(|c: char| c.is_ascii_lowercase()) {
                    Some(format!("try \"{fixed}\""))
                } else {
                    let candidate = format!("svc-{fixed}");
                    validate_dns_label(&candidate)
                        .is_ok()
                        .then(|| format!("start the name with a letter, e.g. \"{candidate}\""))
                };
                fail(diags, &codes::INVALID_K8S_NAME, format!("`{s}` is not a valid Service name: {why}"), "invalid name", help)
            }
        },
        Ty::AksHciName => match validate_akshci_name(s) {
            Ok(()) => Some(Value::Str(s.to_string())),
            Err(why) => {
                let fixed: String = s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
                let help = (!fixed.is_empty() && validate_akshci_name(&fixed).is_ok())
                    .then(|| format!("AksHci accepts lowercase letters and digits only; try \"{fixed}\""));
                fail(diags, &codes::INVALID_AKSHCI_NAME, format!("`{s}` is not a valid AksHci name: {why}"), "invalid name", help)
            }
        },
        Ty::Cidr => match s.parse::<IpNet>() {
            Ok(net) if net.trunc() == net => Some(Value::Net(net)),
            Ok(net) => fail(
                diags,
                &codes::INVALID_CIDR,
                format!("`{s}` has host bits set; the prefix it names is {}", net.trunc()),
                "host bits set",
                Some(format!("write \"{}\"", net.trunc())),
            ),
            Err(_) => fail(diags, &codes::INVALID_CIDR, format!("`{s}` is not an address prefix"), "not ADDRESS/LENGTH", None),
        },
        Ty::IfaceCidr => match s.parse::<IpNet>() {
            Ok(net) => Some(Value::Net(net)),
            Err(_) => fail(diags, &codes::INVALID_CIDR, format!("`{s}` is not an address with a prefix length"), "not ADDRESS/LENGTH", Some("write it like \"10.20.0.5/16\"".into())),
        },
        Ty::AddrOrCidr => match (s.parse::<IpAddr>(), s.parse::<IpNet>()) {
            (Ok(ip), _) => Some(Value::Net(IpNet::from(ip))),
            (_, Ok(net)) if net.trunc() == net => Some(Value::Net(net)),
            (_, Ok(net)) => fail(
                diags,
                &codes::INVALID_CIDR,
                format!("`{s}` has host bits set; the prefix it names is {}", net.trunc()),
                "host bits set",
                Some(format!("write \"{}\", or the address alone", net.trunc())),
            ),
            _ => fail(diags, &codes::INVALID_IP, format!("`{s}` is neither an address nor a prefix"), "not an address", None),
        },
        Ty::Ip => match s.parse::<IpAddr>() {
            Ok(ip) => Some(Value::Ip(ip)),
            Err(_) => {
                let help = s.parse::<IpNet>().ok().map(|n| format!("an address is written without a prefix length: \"{}\"", n.addr()));
                fail(diags, &codes::INVALID_IP, format!("`{s}` is not an IP address"), "not an address", help)
            }
        },
        Ty::PortOrName | Ty::PortName => match validate_port_name(s) {
            Ok(()) => Some(Value::Str(s.to_string())),
            Err(why) => {
                let help = if s.parse::<u16>().is_ok() {
                    "write a port number without quotes".to_string()
                } else {
                    "a port name has at most 15 lowercase letters, digits and '-', with at least one letter, e.g. \"http\" or \"grpc-web\"".to_string()
                };
                fail(diags, &codes::INVALID_PORT, format!("`{s}` is not a valid port name: {why}"), "invalid port name", Some(help))
            }
        },
        Ty::DnsName | Ty::Host => {
            let res = if ty == Ty::Host {
                validate_dns_name(s.strip_prefix("*.").unwrap_or(s))
            } else {
                validate_dns_name(s)
            };
            match res {
                Ok(()) => Some(Value::Str(s.to_string())),
                Err(why) => fail(diags, &codes::INVALID_DNS_NAME, format!("`{s}` is not a valid DNS name: {why}"), "invalid DNS name", None),
            }
        }
        Ty::Version => {
            if is_valid_version(s) {
                Some(Value::Str(s.to_string()))
            } else {
                let help = is_valid_version(&format!("v{s}")).then(|| format!("write \"v{s}\""));
                fail(diags, &codes::INVALID_K8S_VERSION, format!("`{s}` is not a Kubernetes version"), "expected v<major>.<minor>.<patch>", help)
            }
        }
        Ty::Choice(choices) => {
            if choices.contains(&s) {
                Some(Value::Str(s.to_string()))
            } else {
                let help = match did_you_mean(s, choices.iter().copied()) {
                    Some(best) => format!("did you mean \"{best}\"?"),
                    None => format!("use {}", quote_list(choices)),
                };
                fail(diags, &codes::INVALID_CHOICE, format!("`{s}` is not allowed for {}; expected {}", site.what, quote_list(choices)), "not an allowed value", Some(help))
            }
        }
        Ty::LabelValue => match validate_label_value(s) {
            Ok(()) => Some(Value::Str(s.to_string())),
            Err(why) => fail(diags, &codes::INVALID_LABEL, format!("`{s}` is not a valid label value: {why}"), "invalid label value", None),
        },
        Ty::Image => match validate_image(s) {
            Ok(()) => Some(Value::Str(s.to_string())),
            Err(why) => fail(diags, &codes::INVALID_IMAGE, format!("`{s}` is not a valid image reference: {why}"), "invalid image", None),
        },
        Ty::HttpPath => {
            if !s.starts_with('/') {
                fail(diags, &codes::INVALID_HTTP_PATH, format!("the path `{s}` does not start with \"/\""), "expected a path starting with \"/\"", Some(format!("write \"/{s}\"")))
            } else if s.chars().any(char::is_whitespace) {
                fail(diags, &codes::INVALID_HTTP_PATH, format!("the path `{s}` contains whitespace"), "whitespace in a path", Some("percent-encode spaces as %20".into()))
            } else if let Some(c) = s.chars().find(|c| !is_uri_path_char(*c)) {
                fail(diags, &codes::INVALID_HTTP_PATH, format!("the path `{s}` contains '{c}', which an HTTP path cannot hold unencoded"), "not a URI path character", Some(format!("percent-encode it as %{:02X}", u32::from(c))))
            } else {
                Some(Value::Str(s.to_string()))
            }
        }
        Ty::Taint => match validate_taint(s) {
            Ok(()) => Some(Value::Str(s.to_string())),
            Err(why) => fail(diags, &codes::INVALID_LABEL, format!("`{s}` is not a valid taint: {why}"), "invalid taint", Some("write a taint as key=value:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute".into())),
        },
        Ty::VmSize => {
            if !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                Some(Value::Str(s.to_string()))
            } else {
                fail(diags, &codes::UNKNOWN_VM_SIZE, format!("`{s}` is not a VM size name"), "expected letters, digits and '_'", Some("use a size from Get-AksHciVmSize, e.g. \"Standard_A4_v2\"".into()))
            }
        }
        Ty::InterfaceName => {
            let ok = !s.is_empty()
                && s.len() <= 15
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if ok {
                Some(Value::Str(s.to_string()))
            } else {
                let shown = if s.is_empty() { "the empty string".to_string() } else { format!("`{s}`") };
                fail(diags, &codes::INVALID_TEXT, format!("{shown} is not a network interface name"), "expected at most 15 letters, digits, '.', '_' or '-'", Some("use the interface name the VM shows in `ip link`, e.g. \"eth0\"".into()))
            }
        }
        Ty::Int { .. } | Ty::Bool | Ty::Port => None,
    }
}

/// Characters RFC 3986 allows in a path (with `%` for percent-encoding) and `?`/`=`
/// for a query.
fn is_uri_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%?".contains(c)
}

/// Rejects strings that are unsafe in any generated file: control characters
/// (including NUL, tab and line breaks), bidirectional-text controls, and strings
/// longer than `MAX_TEXT_CHARS`. Returns false after reporting TR0222.
pub fn check_text(
    s: &str,
    span: Span,
    what: &dyn std::fmt::Display,
    diags: &mut Diagnostics,
) -> bool {
    // Printable ASCII within the limit, as almost every value is: nothing to find.
    if s.len() <= MAX_TEXT_CHARS && s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return true;
    }
    let count = s.chars().count();
    if count > MAX_TEXT_CHARS {
        diags.push(
            Diagnostic::new(
                &codes::INVALID_TEXT,
                span,
                format!(
                    "{what} is {count} characters long; trellis accepts at most {MAX_TEXT_CHARS}"
                ),
            )
            .label("too long")
            .help("shorten the string"),
        );
        return false;
    }
    if let Some(bad) = s.chars().find(|c| is_unsafe_char(*c)) {
        diags.push(
            Diagnostic::new(
                &codes::INVALID_TEXT,
                span,
                format!(
                    "{what} contains the character U+{:04X}, which is not allowed",
                    u32::from(bad)
                ),
            )
            .label(unsafe_char_kind(bad)),
        );
        return false;
    }
    true
}

/// Control characters (C0, DEL, C1), line and paragraph separators, and the Unicode
/// bidirectional formatting characters ("Trojan Source").
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

fn unsafe_char_kind(c: char) -> &'static str {
    match c {
        '\n' | '\r' | '\u{2028}' | '\u{2029}' => "line break in a string",
        '\0' => "NUL character",
        c if c.is_control() => "control character",
        _ => "bidirectional-text control",
    }
}

/// DNS-1123 label: at most 63 of [a-z0-9-], starting and ending alphanumeric.
pub fn validate_dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > 63 {
        return Err(format!("it is {} characters long, more than 63", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(if c.is_ascii_uppercase() {
            "it contains uppercase letters".into()
        } else {
            format!("it contains '{}'", c.escape_default())
        });
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("it starts or ends with '-'".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn validate_dns_name(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!("it is {} characters long, more than 253", s.len()));
    }
    if s.is_empty() {
        return Err("it is empty".into());
    }
    for label in s.split('.') {
        validate_dns_label(label).map_err(|why| {
            if label.is_empty() {
                "it has an empty label (two dots, or a dot at an end)".to_string()
            } else {
                format!("label `{label}`: {why}")
            }
        })?;
    }
    Ok(())
}

fn suggest_k8s_name(s: &str) -> Option<String> {
    let mut fixed: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    fixed = fixed.trim_matches('-').to_string();
    fixed.truncate(63);
    let fixed = fixed.trim_end_matches('-').to_string();
    (validate_dns_label(&fixed).is_ok() && fixed != s).then(|| format!("try \"{fixed}\""))
}

/// AksHci network and cluster names: lowercase letters and digits, starting with a
/// letter, at most 40 characters (New-AksHciNetworkSetting; New-AksHciCluster
/// rejects hyphens).
pub fn validate_akshci_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > 40 {
        return Err(format!("it is {} characters long, more than 40", s.len()));
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it does not start with a lowercase letter".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
    {
        return Err(format!("it contains '{}'", c.escape_default()));
    }
    Ok(())
}

/// IANA service name, as Kubernetes port names: at most 15 of [a-z0-9-], at least
/// one letter, no leading, trailing or doubled '-'.
pub fn validate_port_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > 15 {
        return Err(format!("it is {} characters long, more than 15", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(if c.is_ascii_uppercase() {
            "it contains uppercase letters".into()
        } else {
            format!("it contains '{}'", c.escape_default())
        });
    }
    if !s.chars().any(|c| c.is_ascii_lowercase()) {
        return Err("it has no letter".into());
    }
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return Err("it starts or ends with '-' or contains \"--\"".into());
    }
    Ok(())
}

/// "v1.29.4".
pub fn is_valid_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()))
}

fn validate_label_name(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!("it is {} characters long, more than 63", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!("it contains '{}'", c.escape_default()));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !s.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A label value: empty, or at most 63 of [A-Za-z0-9._-] starting and ending
/// alphanumeric.
pub fn validate_label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    validate_label_name(s)
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain.
pub fn validate_label_key(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(prefix) = prefix {
        validate_dns_name(prefix).map_err(|why| format!("prefix `{prefix}`: {why}"))?;
    }
    if name.is_empty() {
        return Err("the name part is empty".into());
    }
    validate_label_name(name)
}

fn validate_taint(s: &str) -> Result<(), String> {
    let (kv, effect) = s.rsplit_once(':').ok_or("it has no ':Effect'")?;
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!(
            "effect `{effect}` is not NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    validate_label_key(key).map_err(|why| format!("key `{key}`: {why}"))?;
    validate_label_value(value).map_err(|why| format!("value `{value}`: {why}"))
}

/// A container image reference: `[registry[:port]/]path[:tag][@algorithm:hex]`.
pub fn validate_image(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > 512 {
        return Err("it is longer than 512 characters".into());
    }
    if s.chars().any(char::is_whitespace) {
        return Err("it contains whitespace".into());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(digest) = digest {
        let (algo, hex) = digest
            .split_once(':')
            .ok_or("the digest has no algorithm")?;
        if algo.is_empty()
            || !algo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '_' | '-'))
        {
            return Err(format!("digest algorithm `{algo}` is malformed"));
        }
        if hex.len() < 32
            || !hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            return Err("the digest is not lowercase hex of at least 32 digits".into());
        }
    }
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest.get(last_slash..).and_then(|tail| tail.rfind(':')) {
        Some(colon) => (
            rest.get(..last_slash + colon).unwrap_or(rest),
            rest.get(last_slash + colon + 1..),
        ),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return Err(format!("tag `{tag}` is malformed"));
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 {
        let first = parts.first().copied().unwrap_or("");
        if first.contains('.') || first.contains(':') || first == "localhost" {
            let (host, port) = first.split_once(':').unwrap_or((first, ""));
            let host_ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            let port_ok = port.is_empty() || port.parse::<u16>().is_ok();
            if !host_ok || !port_ok {
                return Err(format!("registry `{first}` is malformed"));
            }
            parts.remove(0);
        }
    }
    for part in parts {
        let ok = !part.is_empty()
            && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && part.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            });
        if !ok {
            return Err(if part.chars().any(|c| c.is_ascii_uppercase()) {
                format!("path component `{part}` has uppercase letters")
            } else {
                format!("path component `{part}` is malformed")
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images() {
        for ok in [
            "nginx",
            "nginx:1.27",
            "mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2022",
            "localhost:5000/team/app:v1",
            "registry.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(validate_image(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:-x",
            "a b",
            "app@sha256:XYZ",
            "reg.io:99999/app",
        ] {
            assert!(validate_image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_labels() {
        assert!(validate_dns_label("web-1").is_ok());
        assert!(validate_dns_label("-web").is_err());
        assert!(validate_dns_label(&"a".repeat(64)).is_err());
        assert!(validate_label_key("app.kubernetes.io/name").is_ok());
        assert!(validate_label_key("/name").is_err());
        assert!(validate_label_value("").is_ok());
        assert!(validate_label_value("a_b.c-d").is_ok());
        assert!(validate_label_value("_a").is_err());
        assert!(validate_port_name("http").is_ok());
        assert!(validate_port_name("8080").is_err());
        assert!(validate_port_name("web--x").is_err());
        assert!(validate_akshci_name("corp1").is_ok());
        assert!(validate_akshci_name("corp-1").is_err());
        assert!(is_valid_version("v1.29.4"));
        assert!(!is_valid_version("1.29.4"));
        assert!(validate_taint("sku=Windows:NoSchedule").is_ok());
        assert!(validate_taint("sku=Windows").is_err());
    }

    #[test]
    fn unsafe_characters() {
        for c in [
            '\0', '\n', '\r', '\t', '\u{7f}', '\u{202E}', '\u{2066}', '\u{2028}',
        ] {
            assert!(is_unsafe_char(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '$', '`', '"', '#'] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
    }
}
