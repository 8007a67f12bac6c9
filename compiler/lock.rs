//! `trellis.lock`: the allocations of the last build, so the next one keeps them.
//!
//! A KDL file in the project folder, written by `trellis build` and meant to be
//! committed. One line per fact, sorted, so diffs are readable:
//!
//! ```kdl
//! version 1
//! cluster "shop" plugin="calico"
//! address "10.20.2.255" network="corp" for="service/shop/shop/web"
//! node-port 30000 cluster="shop" for="service/shop/shop/web/80/TCP"
//! ```
//!
//! Reading never panics: a malformed file or entry is TR0105, an error that stops
//! the build until the lock is repaired (restored from version control, or the entry
//! deleted so its value is allocated afresh). Writing renders an `Allocation`;
//! `read(render(a))` gives back every entry of `a`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use kdl::KdlNode;

use crate::alloc::{AllocKey, Allocation};
use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::fmt::quote_into;
use crate::model::Plugin;
use crate::source::{FileId, Sources, Span};

/// The lock file's name, in the project folder.
pub const LOCK_FILE: &str = "trellis.lock";

/// The lock format's version; a lock of another version is refused (TR0105).
pub const LOCK_VERSION: i128 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPlugin {
    pub plugin: Plugin,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedAddress {
    pub network: String,
    pub address: IpAddr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPort {
    pub cluster: String,
    pub node_port: u16,
    pub span: Span,
}

/// What `trellis.lock` records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    pub plugins: BTreeMap<String, LockedPlugin>,
    pub addresses: BTreeMap<AllocKey, LockedAddress>,
    pub node_ports: BTreeMap<AllocKey, LockedPort>,
}

impl Lock {
    /// The locked address of `key`, if it was allocated on `network`.
    pub fn address(&self, key: &AllocKey, network: &str) -> Option<IpAddr> {
        self.addresses
            .get(key)
            .filter(|a| a.network == network)
            .map(|a| a.address)
    }

    /// The lock entry of an address, if it was allocated on `network`.
    pub fn address_entry(&self, key: &AllocKey, network: &str) -> Option<&LockedAddress> {
        self.addresses.get(key).filter(|a| a.network == network)
    }

    /// The lock entry of a node port, if it was allocated in `cluster`.
    pub fn node_port_entry(&self, key: &AllocKey, cluster: &str) -> Option<&LockedPort> {
        self.node_ports.get(key).filter(|p| p.cluster == cluster)
    }

    /// The locked node port of `key`, if it was allocated in `cluster`.
    pub fn node_port(&self, key: &AllocKey, cluster: &str) -> Option<u16> {
        self.node_ports
            .get(key)
            .filter(|p| p.cluster == cluster)
            .map(|p| p.node_port)
    }
}

/// Reads the project's lock file, if `sources` has one.
pub fn read_from(sources: &Sources, diags: &mut Diagnostics) -> Option<Lock> {
    let (id, file) = sources.lock()?;
    Some(read(id, &file.text, diags))
}

/// Reads a lock file's text. Malformed entries are reported (TR0105) and skipped.
///
/// A lock as [`render`] writes it is read line by line ([`read_lines`]); any other
/// text, a chunk of entries at a time with the KDL parser
/// ([`crate::parse::for_each_tree`]): at 10,000 services a lock is 1.5 MB, and as
/// one KDL document it took 45 MB. Both give the same entries and diagnostics.
pub fn read(file: FileId, text: &str, diags: &mut Diagnostics) -> Lock {
    match read_lines(file, text) {
        Some(reader) => reader.finish(file, diags),
        None => read_kdl(file, text, diags),
    }
}

/// [`read`] with the KDL parser, whatever the text.
fn read_kdl(file: FileId, text: &str, diags: &mut Diagnostics) -> Lock {
    let fresh = || Reader::new(file);
    let mut reader = fresh();
    let parsed = crate::parse::for_each_tree(text, |doc| {
        for node in doc.to_kdl().nodes() {
            reader.entry(node);
        }
    });
    if !parsed {
        // The whole text: its error, or (when only a chunk failed) its entries.
        let whole = match crate::parse::nesting_error(file, text) {
            // A lock is written by trellis, never edited into shape: the way out
            // is the lock's own, not the sources' advice.
            Some(diag) => Err(Diagnostic {
                help: codes::MALFORMED_LOCK.help.to_string(),
                ..diag
            }),
            None => crate::parse::parse_kdl(text)
                .map_err(|err| crate::parse::syntax_error(file, text, &err)),
        };
        match whole {
            Ok(doc) => {
                reader = fresh();
                for node in doc.nodes() {
                    reader.entry(node);
                }
            }
            Err(mut diag) => {
                diag.code = &codes::MALFORMED_LOCK;
                diag.message = format!("trellis.lock is not valid KDL: {}", diag.message);
                diags.push(diag);
                return Lock::default();
            }
        }
    }
    reader.finish(file, diags)
}

/// The entries of a lock written as [`render`] writes it, read line by line: each
/// line is blank, a `//` comment, `version <digits>`, or an entry whose arguments
/// and properties come in `render`'s order, its strings quoted without escapes.
/// `None` for any other text (edited by hand, or not a lock at all), which
/// [`read_kdl`] then reads.
fn read_lines(file: FileId, text: &str) -> Option<Reader> {
    let mut reader = Reader::new(file);
    let mut start = 0;
    for line in text.split('\n') {
        let at = start;
        start += line.len() + 1;
        // A comment of printable ASCII (in KDL, other characters may end a line
        // or be refused).
        if line.is_empty()
            || line.starts_with("//") && line.bytes().all(|b| (0x20..=0x7e).contains(&b))
        {
            continue;
        }
        let (name, rest) = line.split_once(' ')?;
        let mut fields = Fields(rest);
        let parsed = match name {
            "version" => {
                let digits = fields.0;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Parsed::Version(Some(digits.parse().ok()?))
            }
            "cluster" => {
                let (cluster, plugin) = (fields.string()?, fields.prop("plugin")?);
                fields.end()?;
                Parsed::Cluster(plugin_entry(cluster, plugin))
            }
            "address" => {
                let address = fields.string()?;
                let (network, key) = (fields.prop("network")?, fields.prop("for")?);
                fields.end()?;
                Parsed::Address(address_entry(address, || Ok(network), || Ok(key)))
            }
            "node-port" => {
                let digits = fields.digits()?;
                let (cluster, key) = (fields.prop("cluster")?, fields.prop("for")?);
                fields.end()?;
                Parsed::Port(port_entry(digits.parse().ok()?, || Ok(cluster), || Ok(key)))
            }
            _ => return None,
        };
        reader.record(name, at, || parsed);
    }
    Some(reader)
}

/// The rest of a lock line after the entry's name, taken field by field.
struct Fields<'a>(&'a str);

impl<'a> Fields<'a> {
    /// `"…"` of printable ASCII without `"` or `\`, then a space or the end.
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.0.strip_prefix('"')?;
        let end = rest.find('"')?;
        let (value, after) = (rest.get(..end)?, rest.get(end + 1..)?);
        if !value
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'\\')
        {
            return None;
        }
        self.0 = after.strip_prefix(' ').unwrap_or(after);
        (after.is_empty() || after.starts_with(' ')).then_some(value)
    }

    /// Decimal digits, then a space or the end.
    fn digits(&mut self) -> Option<&'a str> {
        let end = self.0.find(' ').unwrap_or(self.0.len());
        let digits = self.0.get(..end)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.0 = self.0.get(end..)?.strip_prefix(' ').unwrap_or_default();
        Some(digits)
    }

    /// `key="…"`.
    fn prop(&mut self, key: &str) -> Option<&'a str> {
        self.0 = self.0.strip_prefix(key)?.strip_prefix('=')?;
        self.string()
    }

    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

/// An entry, read: what [`Reader::record`] keeps or reports.
enum Parsed {
    /// `version`'s number, when it is an integer.
    Version(Option<i128>),
    Cluster(Result<(String, Plugin), String>),
    Address(Result<(AllocKey, String, IpAddr), String>),
    Port(Result<(AllocKey, String, u16), String>),
    Unknown,
}

/// The state of [`read`] between entries.
struct Reader {
    file: FileId,
    lock: Lock,
    diags: Diagnostics,
    version_seen: bool,
    any_entry: bool,
    /// A `version` this trellis does not read: everything else is ignored.
    rejected: bool,
}

impl Reader {
    fn new(file: FileId) -> Reader {
        Reader {
            file,
            lock: Lock::default(),
            diags: Diagnostics::new(),
            version_seen: false,
            any_entry: false,
            rejected: false,
        }
    }

    fn entry(&mut self, node: &KdlNode) {
        let start = Span::from_miette(self.file, node.span()).start as usize;
        let name = node.name().value();
        self.record(name, start, || match name {
            "version" => Parsed::Version(node.get(0).and_then(|v| v.as_integer())),
            "cluster" => Parsed::Cluster(read_plugin(node)),
            "address" => Parsed::Address(read_address(node)),
            "node-port" => Parsed::Port(read_port(node)),
            _ => Parsed::Unknown,
        });
    }

    /// Keeps or reports the entry `name` that starts at byte `start`, read by
    /// `parse` unless a `version` this trellis does not read came before it.
    fn record(&mut self, name: &str, start: usize, parse: impl FnOnce() -> Parsed) {
        if self.rejected {
            return;
        }
        self.any_entry = true;
        let span = Span::new(self.file, start, start + name.len());
        let lock = &mut self.lock;
        let diags = &mut self.diags;
        match parse() {
            Parsed::Version(version) => {
                self.version_seen = true;
                if version != Some(LOCK_VERSION) {
                    diags.push(malformed(
                        span,
                        format!("trellis.lock has a version this trellis does not read (it reads version {LOCK_VERSION})"),
                    ));
                    self.rejected = true;
                }
            }
            Parsed::Cluster(Ok((name, plugin))) => {
                lock.plugins.insert(name, LockedPlugin { plugin, span });
            }
            Parsed::Address(Ok((key, network, address))) => {
                lock.addresses.insert(
                    key,
                    LockedAddress {
                        network,
                        address,
                        span,
                    },
                );
            }
            Parsed::Port(Ok((key, cluster, node_port))) => {
                lock.node_ports.insert(
                    key,
                    LockedPort {
                        cluster,
                        node_port,
                        span,
                    },
                );
            }
            Parsed::Cluster(Err(why)) | Parsed::Address(Err(why)) | Parsed::Port(Err(why)) => {
                diags.push(malformed(
                    span,
                    format!("malformed `{name}` entry in trellis.lock: {why}"),
                ));
            }
            Parsed::Unknown => diags.push(malformed(
                span,
                format!("unknown entry `{name}` in trellis.lock"),
            )),
        }
    }

    /// The lock read, its diagnostics added to `diags`: nothing when its version
    /// is refused or it has entries but no `version`.
    fn finish(self, file: FileId, diags: &mut Diagnostics) -> Lock {
        diags.extend(self.diags);
        if self.rejected {
            return Lock::default();
        }
        if !self.version_seen && self.any_entry {
            diags.push(malformed(
                Span::new(file, 0, 0),
                "trellis.lock has no `version` line".into(),
            ));
            return Lock::default();
        }
        self.lock
    }
}

fn malformed(span: Span, message: String) -> Diagnostic {
    Diagnostic::new(&codes::MALFORMED_LOCK, span, message).label("in trellis.lock")
}

fn prop_str<'a>(node: &'a KdlNode, key: &str) -> Result<&'a str, String> {
    node.get(key)
        .ok_or_else(|| format!("it has no `{key}=`"))?
        .as_string()
        .ok_or_else(|| format!("`{key}=` is not a string"))
}

fn arg_str(node: &KdlNode) -> Result<&str, String> {
    node.get(0)
        .ok_or_else(|| "it has no value".to_string())?
        .as_string()
        .ok_or_else(|| "its value is not a string".to_string())
}

fn key_of(text: &str) -> Result<AllocKey, String> {
    AllocKey::parse(text).ok_or_else(|| format!("`{text}` is not something trellis allocates"))
}

fn read_plugin(node: &KdlNode) -> Result<(String, Plugin), String> {
    plugin_entry(arg_str(node)?, prop_str(node, "plugin")?)
}

/// A `cluster` entry's values, checked.
fn plugin_entry(name: &str, plugin: &str) -> Result<(String, Plugin), String> {
    let plugin = match plugin {
        "calico" => Plugin::Calico,
        "flannel" => Plugin::Flannel,
        other => {
            return Err(format!(
                "`{other}` is not a network plugin (calico or flannel)"
            ))
        }
    };
    Ok((name.to_string(), plugin))
}

fn read_address(node: &KdlNode) -> Result<(AllocKey, String, IpAddr), String> {
    address_entry(
        arg_str(node)?,
        || prop_str(node, "network"),
        || prop_str(node, "for"),
    )
}

/// An `address` entry's values, checked in this order: the address, the network,
/// the key. The network and key are read only when what comes before is valid.
fn address_entry<'a>(
    text: &str,
    network: impl FnOnce() -> Result<&'a str, String>,
    key: impl FnOnce() -> Result<&'a str, String>,
) -> Result<(AllocKey, String, IpAddr), String> {
    let address = text
        .parse()
        .map_err(|_| format!("`{text}` is not an IP address"))?;
    let network = network()?.to_string();
    Ok((key_of(key()?)?, network, address))
}

fn read_port(node: &KdlNode) -> Result<(AllocKey, String, u16), String> {
    let value = node
        .get(0)
        .ok_or_else(|| "it has no value".to_string())?
        .as_integer()
        .ok_or_else(|| "its value is not a number".to_string())?;
    port_entry(
        value,
        || prop_str(node, "cluster"),
        || prop_str(node, "for"),
    )
}

/// A `node-port` entry's values, checked in this order: the port, the cluster, the
/// key.
fn port_entry<'a>(
    value: i128,
    cluster: impl FnOnce() -> Result<&'a str, String>,
    key: impl FnOnce() -> Result<&'a str, String>,
) -> Result<(AllocKey, String, u16), String> {
    let port = u16::try_from(value)
        .ok()
        .filter(|p| (crate::alloc::NODE_PORT_MIN..=crate::alloc::NODE_PORT_MAX).contains(p))
        .ok_or_else(|| format!("{value} is outside the NodePort range 30000–32767"))?;
    let cluster = cluster()?.to_string();
    Ok((key_of(key()?)?, cluster, port))
}

/// Renders an allocation as the text of `trellis.lock`.
///
/// Every value written here passed lowering's validation (names are Kubernetes or
/// AksHci names; addresses and ports are typed); `quote_into` is the formatter's KDL
/// quoting, so the file parses whatever a name holds.
pub fn render(alloc: &Allocation) -> String {
    let mut out = String::from(
        "// trellis.lock: the addresses and ports trellis allocated, and each cluster's\n\
         // network plugin. Written by `trellis build`; commit it, so the next build keeps\n\
         // every allocation where it is. Delete an entry to let trellis allocate it afresh.\n",
    );
    use std::fmt::Write;
    // Written in place, a line at a time, into a text sized for all of them: at
    // 10,000 services the lock has 20,000 lines. Writing to a `String` cannot fail.
    out.reserve(80 * (alloc.addresses.len() + alloc.node_ports.len()));
    let _ = writeln!(out, "version {LOCK_VERSION}");
    for (cluster, plugin) in &alloc.plugins {
        out.push_str("cluster ");
        quote_into(&mut out, cluster);
        out.push_str(" plugin=");
        quote_into(&mut out, plugin.as_str());
        out.push('\n');
    }
    // An address or a key as text, before it is quoted.
    let mut text = String::new();
    for a in &alloc.addresses {
        out.push_str("address ");
        quote_shown(&mut out, &mut text, a.address);
        out.push_str(" network=");
        quote_into(&mut out, &a.network);
        out.push_str(" for=");
        quote_shown(&mut out, &mut text, &a.key);
        out.push('\n');
    }
    for p in &alloc.node_ports {
        let _ = write!(out, "node-port {} cluster=", p.node_port);
        quote_into(&mut out, &p.cluster);
        out.push_str(" for=");
        quote_shown(&mut out, &mut text, &p.key);
        out.push('\n');
    }
    out
}

/// `value` as text, quoted, appended to `out`; `text` holds the text meanwhile (one
/// buffer for every line, not a string each).
fn quote_shown(out: &mut String, text: &mut String, value: impl std::fmt::Display) {
    use std::fmt::Write;
    text.clear();
    // Writing to a `String` cannot fail.
    let _ = write!(text, "{value}");
    quote_into(out, text);
}

/// One difference between the lock and a new allocation, for `trellis plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added {
        key: AllocKey,
        value: String,
    },
    Removed {
        key: AllocKey,
        value: String,
    },
    Moved {
        key: AllocKey,
        from: String,
        to: String,
    },
    Plugin {
        cluster: String,
        from: Plugin,
        to: Plugin,
    },
}

/// What writing `alloc` would change in `lock`, sorted by key.
pub fn diff(lock: &Lock, alloc: &Allocation) -> Vec<Change> {
    let mut changes = Vec::new();
    let new_addresses: BTreeMap<&AllocKey, String> = alloc
        .addresses
        .iter()
        .map(|a| (&a.key, format!("{} on network `{}`", a.address, a.network)))
        .collect();
    let old_addresses: BTreeMap<&AllocKey, String> = lock
        .addresses
        .iter()
        .map(|(k, a)| (k, format!("{} on network `{}`", a.address, a.network)))
        .collect();
    let new_ports: BTreeMap<&AllocKey, String> = alloc
        .node_ports
        .iter()
        .map(|p| (&p.key, format!("node port {}", p.node_port)))
        .collect();
    let old_ports: BTreeMap<&AllocKey, String> = lock
        .node_ports
        .iter()
        .map(|(k, p)| (k, format!("node port {}", p.node_port)))
        .collect();
    for (old, new) in [(&old_addresses, &new_addresses), (&old_ports, &new_ports)] {
        for (key, value) in new {
            match old.get(key) {
                None => changes.push(Change::Added {
                    key: (*key).clone(),
                    value: value.clone(),
                }),
                Some(prev) if prev != value => changes.push(Change::Moved {
                    key: (*key).clone(),
                    from: prev.clone(),
                    to: value.clone(),
                }),
                Some(_) => {}
            }
        }
        for (key, value) in old {
            if !new.contains_key(key) {
                changes.push(Change::Removed {
                    key: (*key).clone(),
                    value: value.clone(),
                });
            }
        }
    }
    for (cluster, plugin) in &alloc.plugins {
        if let Some(locked) = lock.plugins.get(cluster) {
            if locked.plugin != *plugin {
                changes.push(Change::Plugin {
                    cluster: cluster.clone(),
                    from: locked.plugin,
                    to: *plugin,
                });
            }
        }
    }
    changes.sort_by_key(|c| match c {
        Change::Added { key, .. } | Change::Removed { key, .. } | Change::Moved { key, .. } => {
            (key.cluster().unwrap_or("").to_string(), key.to_string())
        }
        Change::Plugin { cluster, .. } => (cluster.clone(), String::new()),
    });
    changes
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A lock read both ways: its entries and its diagnostics as text.
    type Read = (Lock, Vec<String>);

    const CANONICAL: &str = "\
// trellis.lock: a comment
version 1
cluster \"shop\" plugin=\"calico\"
cluster \"edge\" plugin=\"weave\"
address \"10.20.2.255\" network=\"corp\" for=\"service/shop/shop/web\"
address \"10.20.2.0\" network=\"corp\" for=\"cluster/shop/api-server\"
address \"10.20.1.7\" network=\"corp\" for=\"cluster/shop/pool/linux/0\"
address \"not-an-ip\" network=\"corp\" for=\"service/shop/shop/api\"
address \"10.20.2.254\" network=\"corp\" for=\"thing/shop\"
node-port 30000 cluster=\"shop\" for=\"service/shop/shop/web/80/TCP\"
node-port 29999 cluster=\"shop\" for=\"service/shop/shop/web/81/TCP\"
node-port 30001 cluster=\"shop\" for=\"service/shop/shop/web/82/XTP\"
address \"10.20.2.0\" network=\"corp\" for=\"cluster/shop/api-server\"
";

    fn both(text: &str) -> Option<(Read, Read)> {
        let file = FileId(0);
        let shown = |diags: Diagnostics| -> Vec<String> {
            diags
                .iter()
                .map(|d| format!("{} {:?} {}", d.code.code, d.span, d.message))
                .collect()
        };
        let lines = read_lines(file, text)?;
        let mut diags = Diagnostics::new();
        let by_lines = (lines.finish(file, &mut diags), shown(diags));
        let mut diags = Diagnostics::new();
        let by_kdl = (read_kdl(file, text, &mut diags), shown(diags));
        Some((by_lines, by_kdl))
    }

    /// The line reader takes a lock as `render` writes it (and its semantic errors)
    /// and gives what the KDL reader gives.
    #[test]
    fn lines_read_what_kdl_reads() {
        let (lines, kdl) = both(CANONICAL).expect("the line reader takes it");
        assert_eq!(lines, kdl);
        assert_eq!(lines.0.addresses.len(), 3, "{:?}", lines.0);
        assert_eq!(lines.1.len(), 5, "{:?}", lines.1);
        for text in [
            "",
            "version 2\naddress \"10.0.0.1\" network=\"n\" for=\"cluster/a/api-server\"\n",
            "cluster \"a\" plugin=\"calico\"\n",
            "version 1\nnode-port 30000 cluster=\"a\" for=\"service/a/b/c/80/TCP\"",
        ] {
            let (lines, kdl) = both(text).expect("the line reader takes it");
            assert_eq!(lines, kdl, "{text:?}");
        }
    }

    /// Anything else is left to the KDL reader; what the line reader does take,
    /// after random edits of a lock, it reads as the KDL reader does.
    #[test]
    fn lines_refuse_what_they_cannot_read_exactly() {
        for text in [
            "version 1\r\ncluster \"a\" plugin=\"calico\"\r\n",
            "version 1\n  cluster \"a\" plugin=\"calico\"\n",
            "version 1\ncluster \"a\"  plugin=\"calico\"\n",
            "version 1\ncluster plugin=\"calico\" \"a\"\n",
            "version 1\ncluster \"a\\\"b\" plugin=\"calico\"\n",
            "version 1\ncluster \"a\" plugin=\"calico\" // note\n",
            "version 1\n// note \u{2028}cluster \"a\" plugin=\"calico\"\n",
            "version 1\n/* note */\n",
            "version 99999999999999999999999999999999999999999\n",
            "\u{feff}version 1\n",
        ] {
            assert!(read_lines(FileId(0), text).is_none(), "{text:?}");
        }
        let alphabet: Vec<char> = " \"=\\/\n\r\t#{}0123456789abcdeé\u{2028}".chars().collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap_or(0)
        };
        let mut taken = 0;
        for _ in 0..3000 {
            let mut text: Vec<char> = CANONICAL.chars().collect();
            for _ in 0..=next(3) {
                let at = next(text.len() + 1);
                match next(3) {
                    0 if at < text.len() => {
                        text.remove(at);
                    }
                    1 if at < text.len() => text[at] = alphabet[next(alphabet.len())],
                    _ => text.insert(at, alphabet[next(alphabet.len())]),
                }
            }
            let text: String = text.into_iter().collect();
            if let Some((lines, kdl)) = both(&text) {
                assert_eq!(lines, kdl, "{text:?}");
                taken += 1;
            }
        }
        // Many edits keep the shape (a changed digit or letter).
        assert!(
            taken > 300,
            "only {taken} edited locks took the line reader"
        );
    }
}
