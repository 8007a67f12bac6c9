//! Shared code of the fuzz targets: a generator of structurally valid, semantically
//! random trellis projects, and the properties every compilation must have.
//!
//! The generator turns the fuzzer's bytes into KDL source, declaration by
//! declaration. Names, addresses and ports come from small pools, so references
//! resolve often and the checkers (not the parser) see most inputs; in `wild` mode
//! a value is sometimes replaced by a hostile one (quotes, newlines, `$(...)`, bidi
//! controls, huge numbers) to exercise validation.

use std::fmt::Write as _;

use arbitrary::{Result, Unstructured};
use trellis::diag::render::{render_json, render_text, TextStyle};
use trellis::diag::Diagnostics;
use trellis::lower::schema::PRESET_NAMES;
use trellis::source::{FileId, Sources};

/// A generated project: its declarations, each a complete top-level KDL node.
pub struct Project {
    pub declarations: Vec<String>,
}

impl Project {
    /// The whole project as one file.
    pub fn text(&self) -> String {
        self.declarations.join("\n")
    }
}

const NETWORKS: &[&str] = &["corp", "lab", "edge"];
const CLUSTERS: &[&str] = &["shop", "erp", "ops"];
const NAMESPACES: &[&str] = &["store", "pay", "ingress-nginx", "kube-system", "default"];
const WORKLOADS: &[&str] = &["web", "api", "db", "cache", "worker"];
const PORT_NAMES: &[&str] = &["http", "https", "api", "pg", "metrics", "dns"];
const LABEL_KEYS: &[&str] = &["app", "tier", "team", "app.kubernetes.io/name", "k8s-app"];
const LABEL_VALUES: &[&str] = &["web", "api", "db", "front", "back", "kube-dns", ""];
/// A preset name that does not exist, offered after the real ones in wild mode.
const NO_SUCH_PRESET: &str = "no-such-preset";
const PORTS: &[u32] = &[22, 53, 80, 443, 5432, 6443, 8080, 9000, 30080, 65535];
const HOSTILE: &[&str] = &[
    "a\"b",
    "a\nb",
    "$(rm -rf /)",
    "`whoami`",
    "#comment",
    "- item",
    "key: value",
    "\u{202e}evil",
    "a\u{0}b",
    "../../etc/passwd",
    "'; Remove-Item C:\\ -Recurse; '",
    "<script>alert(1)</script>",
    "",
    "99999999999999999999999999999999999999999",
];

/// A workload the generator declared: cluster, namespace, name, port names.
struct Declared {
    cluster: String,
    namespace: String,
    name: String,
    ports: Vec<String>,
}

/// Builds projects from fuzzer bytes.
///
/// References mostly point at what the generator declared before, so that many
/// projects check clean; in `wild` mode a reference sometimes points nowhere and a
/// value is sometimes hostile.
pub struct Generator<'a, 'b> {
    u: &'a mut Unstructured<'b>,
    wild: bool,
    clusters: Vec<String>,
    /// The network (index into NETWORKS) of each cluster in `clusters`.
    cluster_networks: Vec<u8>,
    namespaces: Vec<(String, String)>,
    workloads: Vec<Declared>,
    /// (cluster, namespace, kind, name) of every named declaration, to keep names unique.
    names: Vec<(String, String, &'static str, String)>,
    next_vip: u8,
}

/// A KDL string literal for `s` (every value the generator writes goes through it,
/// so a hostile value is data, never syntax).
fn q(s: &str) -> String {
    trellis::fmt::quote(s)
}

impl<'a, 'b> Generator<'a, 'b> {
    pub fn new(u: &'a mut Unstructured<'b>, wild: bool) -> Self {
        Generator {
            u,
            wild,
            clusters: Vec::new(),
            cluster_networks: Vec::new(),
            namespaces: Vec::new(),
            workloads: Vec::new(),
            names: Vec::new(),
            next_vip: 10,
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Result<T> {
        Ok(*self.u.choose(items)?)
    }

    fn chance(&mut self, percent: u8) -> Result<bool> {
        Ok(self.u.int_in_range(0..=99u8)? < percent)
    }

    /// In wild mode, now and then: true, and the caller writes something wrong.
    fn go_wild(&mut self) -> Result<bool> {
        Ok(self.wild && self.chance(4)?)
    }

    /// A value from `pool`, or (wild) a hostile one.
    fn name(&mut self, pool: &[&str]) -> Result<String> {
        if self.go_wild()? {
            return Ok(self.pick(HOSTILE)?.to_string());
        }
        Ok(self.pick(pool)?.to_string())
    }

    /// `good` normally, `bad` now and then in wild mode.
    fn either(&mut self, good: &str, bad: &str) -> Result<String> {
        Ok(if self.go_wild()? { bad } else { good }.to_string())
    }

    /// A name for a new declaration of `kind` in (cluster, namespace), unique unless
    /// wild; `None` when the pool is used up.
    fn fresh(
        &mut self,
        c: &str,
        n: &str,
        kind: &'static str,
        pool: &[&str],
    ) -> Result<Option<String>> {
        let name = self.name(pool)?;
        if self.wild {
            return Ok(Some(name));
        }
        let taken = |name: &str, names: &[(String, String, &'static str, String)]| {
            names
                .iter()
                .any(|(c2, n2, k2, x)| c2 == c && n2 == n && *k2 == kind && x == name)
        };
        let candidate = std::iter::once(name.as_str())
            .chain(pool.iter().copied())
            .find(|x| !taken(x, &self.names))
            .map(str::to_string);
        if let Some(x) = &candidate {
            self.names
                .push((c.to_string(), n.to_string(), kind, x.clone()));
        }
        Ok(candidate)
    }

    fn int(&mut self, lo: u32, hi: u32) -> Result<String> {
        if self.go_wild()? {
            let v: i64 = self.u.arbitrary()?;
            return Ok(v.to_string());
        }
        Ok(self.u.int_in_range(lo..=hi)?.to_string())
    }

    /// An IPv4 address in network `n`'s /16 (octets from a few likely values).
    fn address(&mut self, n: u8) -> Result<String> {
        if self.go_wild()? {
            return Ok(self.pick(HOSTILE)?.to_string());
        }
        let third = self.pick(&[0u8, 1, 2, 3, 200])?;
        let fourth = self.pick(&[0u8, 1, 10, 11, 50, 254, 255])?;
        Ok(format!("10.{}.{}.{}", 20 + n, third, fourth))
    }

    fn cidr(&mut self) -> Result<String> {
        if self.go_wild()? {
            return Ok(self.pick(HOSTILE)?.to_string());
        }
        Ok(self
            .pick(&[
                "10.0.0.0/8",
                "10.1.0.0/16",
                "10.20.0.0/16",
                "169.254.169.254/32",
                "0.0.0.0/0",
                "192.168.1.0/24",
                "10.20.2.0/24",
                "fd00::/8",
            ])?
            .to_string())
    }

    fn labels(&mut self) -> Result<String> {
        let mut out = String::new();
        let mut keys = Vec::new();
        for _ in 0..self.u.int_in_range(0..=2u8)? {
            let k = self.name(LABEL_KEYS)?;
            if keys.contains(&k) && !self.wild {
                continue;
            }
            keys.push(k.clone());
            let v = self.name(LABEL_VALUES)?;
            let _ = write!(out, " {}={}", q(&k), q(&v));
        }
        Ok(out)
    }

    /// Generates a project of at most `max` declarations.
    pub fn project(&mut self, max: usize) -> Result<Project> {
        let mut declarations = Vec::new();
        let networks = self.u.int_in_range(1..=2u8)?;
        for n in 0..networks {
            declarations.push(self.network(n)?);
        }
        if self.chance(70)? {
            let net = self.name(&NETWORKS[..usize::from(networks)])?;
            declarations.push(format!("host {{\n    network {}\n}}\n", q(&net)));
        }
        let clusters = self.u.int_in_range(1..=2u8)?;
        for c in 0..clusters {
            declarations.push(self.cluster(c, networks)?);
        }
        while declarations.len() < max && !self.u.is_empty() {
            let d = match self.u.int_in_range(0..=9u8)? {
                0 | 1 => self.namespace()?,
                2..=4 => self.workload()?,
                5 | 6 => self.service()?,
                7 | 8 => self.policy()?,
                _ => self.expect()?,
            };
            declarations.extend(d);
        }
        Ok(Project { declarations })
    }

    fn network(&mut self, n: u8) -> Result<String> {
        let name = NETWORKS.get(usize::from(n)).copied().unwrap_or("corp");
        let o = 20 + n;
        let switch = self.name(&["External", "Lab Switch"])?;
        let mut s = format!("network {} {{\n    switch {}\n", q(name), q(&switch));
        if self.chance(15)? {
            s.push_str("    mode \"dhcp\"\n");
            if self.chance(50)? {
                let _ = writeln!(s, "    prefix \"10.{o}.0.0/16\"");
            }
        } else {
            let _ = writeln!(s, "    prefix {}", q(&format!("10.{o}.0.0/16")));
            let _ = writeln!(s, "    gateway {}", q(&format!("10.{o}.0.1")));
            let _ = writeln!(s, "    dns {}", q(&format!("10.{o}.0.10")));
            if self.chance(90)? {
                let _ = writeln!(s, "    node-ips \"10.{o}.1.0\" \"10.{o}.1.255\"");
            } else {
                let (lo, hi) = (self.address(n)?, self.address(n)?);
                let _ = writeln!(s, "    node-ips {} {}", q(&lo), q(&hi));
            }
        }
        if self.chance(90)? {
            let _ = writeln!(s, "    vips \"10.{o}.2.0\" \"10.{o}.2.255\"");
        } else {
            let (lo, hi) = (self.address(n)?, self.address(n)?);
            let _ = writeln!(s, "    vips {} {}", q(&lo), q(&hi));
        }
        if self.chance(10)? {
            let _ = writeln!(s, "    vlan {}", self.int(1, 4094)?);
        }
        s.push_str("}\n");
        Ok(s)
    }

    fn cluster(&mut self, c: u8, networks: u8) -> Result<String> {
        let name = CLUSTERS.get(usize::from(c)).copied().unwrap_or("shop");
        self.clusters.push(name.to_string());
        let net = self.name(&NETWORKS[..usize::from(networks)])?;
        let index = NETWORKS.iter().position(|n| *n == net).unwrap_or(0);
        self.cluster_networks.push(u8::try_from(index).unwrap_or(0));
        let mut s = format!("cluster {} {{\n    network {}\n", q(name), q(&net));
        if self.chance(15)? {
            let plugin = if self.wild {
                self.name(&["calico", "flannel", "cilium"])?
            } else {
                "calico".to_string()
            };
            let _ = writeln!(s, "    plugin {}", q(&plugin));
        }
        if self.chance(50)? {
            let _ = write!(s, "    control-plane count={}", self.int(1, 3)?);
            if self.go_wild()? {
                let a = self.address(c)?;
                let _ = write!(s, " {{ addresses {}; }}", q(&a));
            }
            s.push('\n');
        }
        if self.chance(40)? {
            let sku = self.name(&["haproxy", "haproxy", "none"])?;
            let _ = writeln!(
                s,
                "    load-balancer sku={} count={}",
                q(&sku),
                self.int(1, 3)?
            );
        }
        let _ = writeln!(s, "    node-pool \"linux\" count={}", self.int(1, 4)?);
        if self.chance(30)? {
            let _ = write!(
                s,
                "    node-pool \"win\" os=\"windows\" count={}",
                self.int(0, 3)?
            );
            if self.chance(50)? {
                s.push_str(" { taint \"sku=Windows:NoSchedule\"; }");
            }
            s.push('\n');
        }
        s.push_str("}\n");
        Ok(s)
    }

    /// A cluster: a declared one, or (wild) any.
    fn cluster_ref(&mut self) -> Result<String> {
        if self.clusters.is_empty() || self.go_wild()? {
            return self.name(CLUSTERS);
        }
        Ok(self.u.choose(&self.clusters)?.clone())
    }

    /// A namespace of cluster `c`: a declared or built-in one, or (wild) any.
    fn namespace_ref(&mut self, c: &str) -> Result<String> {
        if self.go_wild()? {
            return self.name(NAMESPACES);
        }
        let mut known: Vec<String> = vec!["default".into(), "kube-system".into()];
        known.extend(
            self.namespaces
                .iter()
                .filter(|(c2, _)| c2 == c)
                .map(|(_, n)| n.clone()),
        );
        Ok(self.u.choose(&known)?.clone())
    }

    /// A workload of (cluster, namespace), or of the cluster when `namespace` is None.
    fn workload_ref(&mut self, c: &str, n: Option<&str>) -> Result<Option<usize>> {
        let found: Vec<usize> = self
            .workloads
            .iter()
            .enumerate()
            .filter(|(_, w)| w.cluster == c && n.is_none_or(|n| w.namespace == n))
            .map(|(i, _)| i)
            .collect();
        if found.is_empty() {
            return Ok(None);
        }
        Ok(Some(*self.u.choose(&found)?))
    }

    fn namespace(&mut self) -> Result<Option<String>> {
        let c = self.cluster_ref()?;
        let Some(n) = self.fresh(&c, "", "namespace", &NAMESPACES[..3])? else {
            return Ok(None);
        };
        self.namespaces.push((c.clone(), n.clone()));
        let labels = self.labels()?;
        Ok(Some(if labels.is_empty() {
            format!("namespace {} cluster={}\n", q(&n), q(&c))
        } else {
            format!(
                "namespace {} cluster={} {{\n    labels{}\n}}\n",
                q(&n),
                q(&c),
                labels
            )
        }))
    }

    fn workload(&mut self) -> Result<Option<String>> {
        let c = self.cluster_ref()?;
        let n = self.namespace_ref(&c)?;
        let Some(w) = self.fresh(&c, &n, "workload", WORKLOADS)? else {
            return Ok(None);
        };
        let image = self.name(&["nginx:1.27", "postgres:16.4", "example/api:2.1"])?;
        let mut s = format!(
            "workload {} cluster={} namespace={} {{\n    image {}\n",
            q(&w),
            q(&c),
            q(&n),
            q(&image)
        );
        if self.chance(50)? {
            let _ = writeln!(s, "    replicas {}", self.int(0, 5)?);
        }
        if self.chance(20)? {
            let labels = self.labels()?;
            if !labels.is_empty() {
                let _ = writeln!(s, "    labels{labels}");
            }
        }
        let mut ports: Vec<String> = Vec::new();
        for _ in 0..self.u.int_in_range(0..=2u8)? {
            let name = self.name(PORT_NAMES)?;
            if ports.contains(&name) && !self.wild {
                continue;
            }
            let number = if self.go_wild()? {
                self.int(0, 70000)?
            } else {
                self.pick(PORTS)?.to_string()
            };
            let proto = self.either("TCP", "UDP")?;
            let _ = writeln!(s, "    port {} {} protocol={}", q(&name), number, q(&proto));
            ports.push(name);
        }
        if self.go_wild()? {
            let os = self.name(&["linux", "windows"])?;
            let _ = writeln!(s, "    os {}", q(&os));
        }
        if self.chance(10)? {
            let _ = writeln!(s, "    reaches {}", q(&self.cidr()?));
        }
        s.push_str("}\n");
        self.workloads.push(Declared {
            cluster: c,
            namespace: n,
            name: w,
            ports,
        });
        Ok(Some(s))
    }

    fn service(&mut self) -> Result<Option<String>> {
        let c = self.cluster_ref()?;
        let n = self.namespace_ref(&c)?;
        let Some(name) = self.fresh(&c, &n, "service", WORKLOADS)? else {
            return Ok(None);
        };
        let ty = self.name(&[
            "ClusterIP",
            "NodePort",
            "LoadBalancer",
            "LoadBalancer",
            "ExternalName",
        ])?;
        let mut s = format!(
            "service {} cluster={} namespace={} {{\n    type {}\n",
            q(&name),
            q(&c),
            q(&n),
            q(&ty)
        );
        if ty == "ExternalName" {
            let target = self.either("db.example.com", "a..b")?;
            let _ = writeln!(s, "    external-name {}", q(&target));
        } else {
            let backend = self.workload_ref(&c, Some(&n))?;
            let (app, names) = match backend.and_then(|i| self.workloads.get(i)) {
                Some(w) => (w.name.clone(), w.ports.clone()),
                None => (self.name(WORKLOADS)?, Vec::new()),
            };
            if self.chance(90)? {
                let _ = writeln!(s, "    select app={}", q(&app));
            }
            let mut used = Vec::new();
            for _ in 0..self.u.int_in_range(1..=2u8)? {
                let port = self.pick(PORTS)?;
                if used.contains(&port) && !self.wild {
                    continue;
                }
                used.push(port);
                let _ = write!(s, "    port {port}");
                if self.chance(60)? {
                    if !names.is_empty() && self.chance(70)? {
                        let t = self.u.choose(&names)?.clone();
                        let _ = write!(s, " target={}", q(&t));
                    } else {
                        let _ = write!(s, " target={}", self.pick(PORTS)?);
                    }
                }
                if self.go_wild()? {
                    let proto = self.name(&["TCP", "UDP"])?;
                    let _ = write!(s, " protocol={}", q(&proto));
                }
                if self.chance(10)? {
                    let _ = write!(s, " node-port={}", self.int(30000, 32767)?);
                }
                s.push('\n');
            }
            if ty == "LoadBalancer" && self.chance(20)? {
                let network = self
                    .clusters
                    .iter()
                    .position(|x| *x == c)
                    .and_then(|i| self.cluster_networks.get(i).copied())
                    .unwrap_or(0);
                let address = if self.go_wild()? {
                    self.address(network)?
                } else {
                    self.next_vip = self.next_vip.wrapping_add(1);
                    format!("10.{}.2.{}", 20 + network, self.next_vip)
                };
                let _ = writeln!(s, "    address {}", q(&address));
            }
            let lb = ty == "LoadBalancer" || self.go_wild()?;
            if lb && self.chance(10)? {
                s.push_str("    internal #true\n");
            }
            if lb && self.chance(15)? {
                let balance = self.name(&["roundrobin", "leastconn", "source"])?;
                let _ = writeln!(s, "    balance {}", q(&balance));
            }
            if lb && self.chance(15)? {
                let path = self.either("/healthz", "/a b")?;
                let _ = writeln!(
                    s,
                    "    health-check path={} interval={}",
                    q(&path),
                    self.int(100, 5000)?
                );
            }
        }
        s.push_str("}\n");
        Ok(Some(s))
    }

    fn peer(&mut self, keyword: &str, c: &str, n: &str) -> Result<String> {
        Ok(match self.u.int_in_range(0..=7u8)? {
            0 | 1 => {
                let any = self.u.int_in_range(0..=1u8)? == 1;
                match self.workload_ref(c, if any { None } else { Some(n) })? {
                    Some(i) if !self.go_wild()? => {
                        let (name, ns) = self
                            .workloads
                            .get(i)
                            .map(|w| (w.name.clone(), w.namespace.clone()))
                            .unwrap_or_default();
                        format!("{keyword} workload={} namespace={}", q(&name), q(&ns))
                    }
                    _ => format!("{keyword} workload={}", q(&self.name(WORKLOADS)?)),
                }
            }
            2 => format!("{keyword} namespace={}", q(&self.namespace_ref(c)?)),
            3 => format!("{keyword} {{ pods{}; }}", self.labels()?),
            4 => format!(
                "{keyword} {{ namespaces{}; pods{}; }}",
                self.labels()?,
                self.labels()?
            ),
            5 => {
                let mut s = format!("{keyword} cidr={}", q(&self.cidr()?));
                if self.chance(30)? {
                    let _ = write!(s, " {{ except {}; }}", q(&self.cidr()?));
                }
                s
            }
            6 => format!("{keyword} anywhere=#true"),
            _ => format!("{keyword} nodes=#true"),
        })
    }

    fn rule(&mut self, ordered: bool, c: &str, n: &str, ports: &[String]) -> Result<String> {
        let action = if ordered || self.go_wild()? {
            self.pick(&["allow", "allow", "deny", "log", "pass"])?
        } else {
            "allow"
        };
        let direction = self.pick(&["ingress", "egress"])?;
        let keyword = if direction == "ingress" { "from" } else { "to" };
        let mut s = format!("    {action} {} {{\n", q(direction));
        for _ in 0..self.u.int_in_range(0..=2u8)? {
            let _ = writeln!(s, "        {}", self.peer(keyword, c, n)?);
        }
        let icmp = ordered && self.chance(5)?;
        for _ in 0..if icmp {
            0
        } else {
            self.u.int_in_range(0..=2u8)?
        } {
            if !ports.is_empty() && self.chance(40)? {
                let p = self.u.choose(ports)?.clone();
                let _ = write!(s, "        port {}", q(&p));
            } else {
                let p = self.pick(PORTS)?;
                let _ = write!(s, "        port {p}");
                if self.chance(20)? {
                    let end = self.pick(PORTS)?.max(p);
                    let _ = write!(s, " end={end}");
                }
            }
            if self.go_wild()? {
                let proto = self.name(&["TCP", "UDP", "SCTP"])?;
                let _ = write!(s, " protocol={}", q(&proto));
            }
            s.push('\n');
        }
        if icmp {
            let _ = writeln!(
                s,
                "        icmp type={} code={}",
                self.int(0, 20)?,
                self.int(0, 5)?
            );
        }
        s.push_str("    }\n");
        Ok(s)
    }

    fn policy(&mut self) -> Result<Option<String>> {
        let c = self.cluster_ref()?;
        let n = self.namespace_ref(&c)?;
        let global = self.chance(10)?;
        let scope = if global { "" } else { n.as_str() };
        let Some(name) = self.fresh(
            &c,
            scope,
            "policy",
            &["deny-all", "allow-web", "guard", "dns", "p5", "p6"],
        )?
        else {
            return Ok(None);
        };
        let mut head = format!("policy {} cluster={}", q(&name), q(&c));
        if global {
            head.push_str(" global=#true");
        } else {
            let _ = write!(head, " namespace={}", q(&n));
        }
        let ordered = global || self.chance(25)?;
        if ordered {
            let _ = write!(head, " order={}", self.int(0, 1000)?);
        }
        if self.chance(15)? {
            // The built-in presets (in `stdlib/presets.kdl` order; the first five
            // are the ones an unordered policy may use), then a wrong one.
            let presets: Vec<&str> = PRESET_NAMES
                .iter()
                .copied()
                .chain(std::iter::once(NO_SUCH_PRESET))
                .collect();
            let presets = if self.wild {
                &presets[..]
            } else if ordered {
                &presets[..PRESET_NAMES.len()]
            } else {
                &presets[..5]
            };
            let preset = self.name(presets)?;
            let _ = write!(head, " preset={}", q(&preset));
        }
        if self.chance(10)? {
            let target = self.name(&["auto", "kubernetes", "calico"])?;
            let _ = write!(head, " target={}", q(&target));
        }
        let mut body = String::new();
        let mut ports = Vec::new();
        match self.u.int_in_range(0..=2u8)? {
            0 => {}
            1 if !global => {
                if let Some(i) = self.workload_ref(&c, Some(&n))? {
                    let (w, p) = self
                        .workloads
                        .get(i)
                        .map(|w| (w.name.clone(), w.ports.clone()))
                        .unwrap_or_default();
                    ports = p;
                    let _ = writeln!(body, "    workloads {}", q(&w));
                }
            }
            _ => {
                let labels = self.labels()?;
                let _ = writeln!(body, "    pods{labels}");
            }
        }
        for _ in 0..self.u.int_in_range(0..=3u8)? {
            body.push_str(&self.rule(ordered, &c, &n, &ports)?);
        }
        if self.chance(30)? {
            let _ = writeln!(body, "    deny {}", q(self.pick(&["ingress", "egress"])?));
        }
        Ok(Some(if body.is_empty() {
            format!("{head}\n")
        } else {
            format!("{head} {{\n{body}}}\n")
        }))
    }

    fn endpoint(&mut self, c: &str) -> Result<String> {
        if self.chance(80)? {
            if let Some(i) = self.workload_ref(c, None)? {
                if let Some(w) = self.workloads.get(i) {
                    return Ok(format!("{}/{}", w.namespace, w.name));
                }
            }
        }
        Ok(self
            .pick(&["203.0.113.7", "10.20.1.5", "169.254.169.254"])?
            .to_string())
    }

    fn expect(&mut self) -> Result<Option<String>> {
        if !self.wild && self.chance(70)? {
            return Ok(None);
        }
        let verdict = self.name(&["allow", "deny"])?;
        let c = self.cluster_ref()?;
        let (from, to) = (self.endpoint(&c)?, self.endpoint(&c)?);
        Ok(Some(format!(
            "expect {} cluster={} from={} to={} port={}\n",
            q(&verdict),
            q(&c),
            q(&from),
            q(&to),
            self.pick(PORTS)?
        )))
    }
}

/// Compiles `files` (path, text) and checks the properties every compilation has:
/// diagnostics render both ways, a clean compilation emits at least one file,
/// every YAML output parses back, and nothing in any output is a NUL byte.
/// Returns the compilation's artifacts (path, content) and diagnostic codes.
pub fn compile_and_check(files: &[(String, String)]) -> (Vec<(String, String)>, Vec<&'static str>) {
    let mut sources = Sources::new();
    for (path, text) in files {
        sources.add(path.clone(), text.clone());
    }
    let c = trellis::compile(&sources, Diagnostics::new(), &trellis::Options::default());
    let _ = render_text(&c.diagnostics, &sources, TextStyle::plain());
    let _ = render_json(&c.diagnostics, &sources);
    if !c.has_errors() {
        assert!(!c.artifacts.is_empty(), "a clean project emits its outputs");
        for a in &c.artifacts {
            assert!(!a.content.contains('\0'), "NUL in {}", a.path);
            assert!(
                !a.path
                    .split('/')
                    .any(|part| part == ".." || part.is_empty()),
                "artifact path {:?} escapes the output folder",
                a.path
            );
            if a.path.ends_with(".yaml") {
                for doc in a.content.split("\n---\n") {
                    let parsed: std::result::Result<serde_json::Value, _> =
                        serde_saphyr::from_str(doc);
                    assert!(
                        parsed.is_ok(),
                        "{} does not parse back: {:?}\n{}",
                        a.path,
                        parsed.err(),
                        a.content
                    );
                }
            }
        }
        if let Some(alloc) = c.allocation.as_ref() {
            for cluster in &c.model.clusters {
                let engine = trellis::reach::Engine::new(&c.model, Some(alloc), cluster);
                let workloads: Vec<_> = engine.workloads().collect();
                for src in &workloads {
                    for dst in &workloads {
                        let _ = engine.cell(src, dst, None);
                    }
                }
            }
        }
    }
    let mut codes: Vec<&'static str> = c.diagnostics.iter().map(|d| d.code.code).collect();
    codes.sort_unstable();
    let artifacts = c
        .artifacts
        .into_iter()
        .map(|a| (a.path, a.content.into_string()))
        .collect();
    (artifacts, codes)
}

/// Compiles `files` in the bundle layout and checks it holds the same YAML documents
/// as `artifacts` (the default layout's): each cluster's stream parses, and its
/// documents are those of the cluster's files; every other file is the same.
pub fn check_bundle(files: &[(String, String)], artifacts: &[(String, String)]) {
    let mut sources = Sources::new();
    for (path, text) in files {
        sources.add(path.clone(), text.clone());
    }
    let options = trellis::Options {
        layout: trellis::emit::Layout::Bundle,
        ..trellis::Options::default()
    };
    let c = trellis::compile(&sources, Diagnostics::new(), &options);
    if c.has_errors() {
        assert!(
            artifacts.is_empty(),
            "the layout changed whether the project has errors"
        );
        return;
    }
    // By the path's second segment: a namespace may be named `kubernetes`.
    let stream_of = |path: &str| {
        let mut parts = path.splitn(3, '/');
        let (cluster, folder, rest) = (parts.next()?, parts.next()?, parts.next()?);
        let file = match folder {
            "kubernetes" if rest != "kustomization.yaml" => trellis::emit::KUBERNETES_BUNDLE,
            "calico" => trellis::emit::CALICO_BUNDLE,
            _ => return None,
        };
        Some(format!("{cluster}/{folder}/{file}"))
    };

    let mut expected: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (path, content) in artifacts {
        match stream_of(path) {
            Some(stream) => {
                let doc: serde_json::Value =
                    serde_saphyr::from_str(content).expect("a file of the default layout parses");
                expected.entry(stream).or_default().push(doc.to_string());
            }
            None if path.ends_with(".ps1") || path.ends_with("kustomization.yaml") => {}
            None => {
                let same = c.artifacts.iter().find(|a| &a.path == path);
                assert_eq!(
                    same.map(|a| a.content.as_str()),
                    Some(content.as_str()),
                    "{path} differs"
                );
            }
        }
    }
    for (stream, mut want) in expected {
        let written = c
            .artifacts
            .iter()
            .find(|a| a.path == stream)
            .unwrap_or_else(|| panic!("no {stream}"));
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&written.content)
            .unwrap_or_else(|e| panic!("{stream} does not parse: {e}\n{}", written.content));
        let mut got: Vec<String> = docs.iter().map(|d| d.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{stream} holds other documents");
    }
}

/// Formats `text`; when it is valid KDL, the formatter must keep its meaning (the
/// same diagnostic codes and the same outputs) and its result must format to itself.
pub fn check_format(text: &str) {
    let mut diags = Diagnostics::new();
    let Some(formatted) = trellis::fmt::format_source(FileId(0), text, &mut diags) else {
        return;
    };
    let canonical = trellis::fmt::format_canonical(text);
    assert_eq!(
        canonical.as_deref(),
        Some(formatted.as_str()),
        "valid KDL the formatter cannot format canonically:\n{text}"
    );
    let twice = trellis::fmt::format_canonical(&formatted);
    assert_eq!(
        twice.as_deref(),
        Some(formatted.as_str()),
        "formatting is not idempotent"
    );
    let before = compile_and_check(&[("input.kdl".to_string(), text.to_string())]);
    let after = compile_and_check(&[("input.kdl".to_string(), formatted)]);
    assert_eq!(before, after, "formatting changed the meaning of:\n{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed-seed byte stream (splitmix64), so the test is reproducible.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                (z ^ (z >> 31)) as u8
            })
            .collect()
    }

    /// The generator reaches both sides: projects with errors and clean projects that
    /// go through every emitter; and the properties hold on a few hundred of each.
    #[test]
    fn generated_projects_reach_the_emitters() {
        let (mut clean, mut failing) = (0, 0);
        for seed in 0..100 {
            for wild in [false, true] {
                let data = bytes(seed, 2048);
                let mut u = Unstructured::new(&data);
                let project = Generator::new(&mut u, wild).project(30).expect("generates");
                let files = [("p.kdl".to_string(), project.text())];
                let (artifacts, _codes) = compile_and_check(&files);
                check_bundle(&files, &artifacts);
                clean += usize::from(!artifacts.is_empty());
                failing += usize::from(artifacts.is_empty());
                check_format(&project.text());
            }
        }
        eprintln!("clean {clean}, with errors {failing}");
        assert!(
            clean >= 15,
            "only {clean} of 300 generated projects check clean"
        );
        assert!(
            failing >= 15,
            "only {failing} of 300 generated projects have errors"
        );
    }
}
