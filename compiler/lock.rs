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
use crate::fmt::quote;
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
/// The text is read a chunk of entries at a time ([`crate::parse::for_each_chunk`]):
/// at 10,000 services a lock is 1.5 MB, and as one KDL document it took 45 MB.
pub fn read(file: FileId, text: &str, diags: &mut Diagnostics) -> Lock {
    let fresh = || Reader {
        file,
        lock: Lock::default(),
        diags: Diagnostics::new(),
        version_seen: false,
        any_entry: false,
        rejected: false,
    };
    let mut reader = fresh();
    let parsed = crate::parse::for_each_chunk(text, |doc| {
        for node in doc.nodes() {
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
    diags.extend(reader.diags);
    if reader.rejected {
        return Lock::default();
    }
    if !reader.version_seen && reader.any_entry {
        diags.push(malformed(
            Span::new(file, 0, 0),
            "trellis.lock has no `version` line".into(),
        ));
        return Lock::default();
    }
    reader.lock
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
    fn entry(&mut self, node: &KdlNode) {
        if self.rejected {
            return;
        }
        self.any_entry = true;
        let span = Span::from_miette(self.file, node.span());
        let span = Span::new(
            self.file,
            span.start as usize,
            span.start as usize + node.name().value().len(),
        );
        let lock = &mut self.lock;
        let diags = &mut self.diags;
        match node.name().value() {
            "version" => {
                self.version_seen = true;
                if node.get(0).and_then(|v| v.as_integer()) != Some(LOCK_VERSION) {
                    diags.push(malformed(
                        span,
                        format!("trellis.lock has a version this trellis does not read (it reads version {LOCK_VERSION})"),
                    ));
                    self.rejected = true;
                }
            }
            "cluster" => match read_plugin(node) {
                Ok((name, plugin)) => {
                    lock.plugins.insert(name, LockedPlugin { plugin, span });
                }
                Err(why) => diags.push(malformed(
                    span,
                    format!("malformed `cluster` entry in trellis.lock: {why}"),
                )),
            },
            "address" => match read_address(node) {
                Ok((key, network, address)) => {
                    lock.addresses.insert(
                        key,
                        LockedAddress {
                            network,
                            address,
                            span,
                        },
                    );
                }
                Err(why) => diags.push(malformed(
                    span,
                    format!("malformed `address` entry in trellis.lock: {why}"),
                )),
            },
            "node-port" => match read_port(node) {
                Ok((key, cluster, node_port)) => {
                    lock.node_ports.insert(
                        key,
                        LockedPort {
                            cluster,
                            node_port,
                            span,
                        },
                    );
                }
                Err(why) => diags.push(malformed(
                    span,
                    format!("malformed `node-port` entry in trellis.lock: {why}"),
                )),
            },
            other => diags.push(malformed(
                span,
                format!("unknown entry `{other}` in trellis.lock"),
            )),
        }
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

fn key_of(node: &KdlNode) -> Result<AllocKey, String> {
    let text = prop_str(node, "for")?;
    AllocKey::parse(text).ok_or_else(|| format!("`{text}` is not something trellis allocates"))
}

fn read_plugin(node: &KdlNode) -> Result<(String, Plugin), String> {
    let name = arg_str(node)?.to_string();
    let plugin = match prop_str(node, "plugin")? {
        "calico" => Plugin::Calico,
        "flannel" => Plugin::Flannel,
        other => {
            return Err(format!(
                "`{other}` is not a network plugin (calico or flannel)"
            ))
        }
    };
    Ok((name, plugin))
}

fn read_address(node: &KdlNode) -> Result<(AllocKey, String, IpAddr), String> {
    let text = arg_str(node)?;
    let address = text
        .parse()
        .map_err(|_| format!("`{text}` is not an IP address"))?;
    let network = prop_str(node, "network")?.to_string();
    Ok((key_of(node)?, network, address))
}

fn read_port(node: &KdlNode) -> Result<(AllocKey, String, u16), String> {
    let value = node
        .get(0)
        .ok_or_else(|| "it has no value".to_string())?
        .as_integer()
        .ok_or_else(|| "its value is not a number".to_string())?;
    let port = u16::try_from(value)
        .ok()
        .filter(|p| (crate::alloc::NODE_PORT_MIN..=crate::alloc::NODE_PORT_MAX).contains(p))
        .ok_or_else(|| format!("{value} is outside the NodePort range 30000–32767"))?;
    let cluster = prop_str(node, "cluster")?.to_string();
    Ok((key_of(node)?, cluster, port))
}

/// Renders an allocation as the text of `trellis.lock`.
///
/// Every value written here passed lowering's validation (names are Kubernetes or
/// AksHci names; addresses and ports are typed); `quote` is the formatter's KDL
/// quoting, so the file parses whatever a name holds.
pub fn render(alloc: &Allocation) -> String {
    let mut out = String::from(
        "// trellis.lock: the addresses and ports trellis allocated, and each cluster's\n\
         // network plugin. Written by `trellis build`; commit it, so the next build keeps\n\
         // every allocation where it is. Delete an entry to let trellis allocate it afresh.\n",
    );
    out.push_str(&format!("version {LOCK_VERSION}\n"));
    for (cluster, plugin) in &alloc.plugins {
        out.push_str(&format!(
            "cluster {} plugin={}\n",
            quote(cluster),
            quote(plugin.as_str())
        ));
    }
    for a in &alloc.addresses {
        out.push_str(&format!(
            "address {} network={} for={}\n",
            quote(&a.address.to_string()),
            quote(&a.network),
            quote(&a.key.to_string())
        ));
    }
    for p in &alloc.node_ports {
        out.push_str(&format!(
            "node-port {} cluster={} for={}\n",
            p.node_port,
            quote(&p.cluster),
            quote(&p.key.to_string())
        ));
    }
    out
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
