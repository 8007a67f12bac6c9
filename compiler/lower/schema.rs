//! The language's schema: every node, its arguments, properties and children, their
//! types, defaults and one-line documentation.
//!
//! This table is the single source of truth for what a trellis file may contain.
//! `lower::shape` checks documents against it (unknown nodes and properties, arity,
//! types, required settings); `docs/language.md` documents the same table, and a test
//! (`tests/language_doc.rs`) checks that every node and property here appears there.
//! The language server's hover and completion read it too.

/// What a value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Free text, shown verbatim in generated files (no control characters).
    Text,
    /// A Windows path (no control characters).
    Path,
    /// A Kubernetes object name: a DNS-1123 label (at most 63 characters).
    K8sName,
    /// A Kubernetes Service name: a DNS-1035 label (starts with a letter).
    ServiceName,
    /// An AksHci network or cluster name: lowercase letters and digits.
    AksHciName,
    /// The name of a declared object of the given kind.
    Ref(RefKind),
    /// An integer in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    /// An IPv4 network prefix with zero host bits: "10.20.0.0/16".
    Cidr,
    /// An interface address with its prefix length: "10.20.0.5/16".
    IfaceCidr,
    /// An IPv4 address.
    Ip,
    /// An address or a prefix: "10.20.0.50" or "10.30.0.0/24".
    AddrOrCidr,
    /// A port number, 1-65535.
    Port,
    /// A port number or a named port of a workload.
    PortOrName,
    /// A port name (IANA service name syntax, at most 15 characters).
    PortName,
    /// A DNS name ("db.example.com").
    DnsName,
    /// A DNS name that may start with a wildcard label ("*.example.com").
    Host,
    /// A Kubernetes version "v1.29.4".
    Version,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// A Kubernetes label value.
    LabelValue,
    /// A container image reference.
    Image,
    /// An HTTP path starting with "/".
    HttpPath,
    /// A node taint "key=value:Effect".
    Taint,
    /// A VM size name ("Standard_A4_v2").
    VmSize,
    /// A Linux network interface name ("eth0").
    InterfaceName,
}

/// The kinds of declaration a reference can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    Network,
    Cluster,
    Namespace,
    Workload,
    Service,
}

impl RefKind {
    pub fn noun(self) -> &'static str {
        match self {
            RefKind::Network => "network",
            RefKind::Cluster => "cluster",
            RefKind::Namespace => "namespace",
            RefKind::Workload => "workload",
            RefKind::Service => "service",
        }
    }
}

impl Ty {
    /// A short human name of the type, used in messages ("expected a port number").
    pub fn describe(self) -> String {
        match self {
            Ty::Text => "a string".into(),
            Ty::Path => "a path string".into(),
            Ty::K8sName => "a Kubernetes name string".into(),
            Ty::ServiceName => "a Service name string (starting with a letter)".into(),
            Ty::AksHciName => "a name string (lowercase letters and digits)".into(),
            Ty::Ref(kind) => format!("the name of a {}", kind.noun()),
            Ty::Int { min, max } => format!("an integer from {min} to {max}"),
            Ty::Bool => "#true or #false".into(),
            Ty::Cidr => "an address prefix string like \"10.20.0.0/16\"".into(),
            Ty::IfaceCidr => "an address with prefix length like \"10.20.0.5/16\"".into(),
            Ty::Ip => "an IPv4 address string".into(),
            Ty::AddrOrCidr => {
                "an address or prefix string like \"10.20.0.50\" or \"10.30.0.0/24\"".into()
            }
            Ty::Port => "a port number".into(),
            Ty::PortOrName => "a port number or a port name".into(),
            Ty::PortName => "a port name string".into(),
            Ty::DnsName | Ty::Host => "a DNS name string".into(),
            Ty::Version => "a version string like \"v1.29.4\"".into(),
            Ty::Choice(choices) => format!("one of {}", quote_list(choices)),
            Ty::LabelValue => "a label value string".into(),
            Ty::Image => "an image reference string".into(),
            Ty::HttpPath => "a path string starting with \"/\"".into(),
            Ty::Taint => "a taint string like \"key=value:NoSchedule\"".into(),
            Ty::VmSize => "a VM size string like \"Standard_A4_v2\"".into(),
            Ty::InterfaceName => "a network interface name like \"eth0\"".into(),
        }
    }

    /// The KDL type annotations accepted on a value of this type.
    pub fn annotations(self) -> &'static [&'static str] {
        match self {
            Ty::Cidr | Ty::IfaceCidr => &["cidr"],
            Ty::Ip => &["ip", "ipv4"],
            Ty::AddrOrCidr => &["ip", "ipv4", "cidr"],
            Ty::Port | Ty::PortOrName => &["port", "u16"],
            Ty::Version => &["version"],
            Ty::DnsName | Ty::Host => &["dns", "hostname"],
            Ty::Image => &["image"],
            Ty::Int { .. } => &["i32", "i64", "u8", "u16", "u32", "u64"],
            Ty::Path => &["path"],
            _ => &[],
        }
    }
}

/// `"a", "b" or "c"`.
pub fn quote_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[derive(Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub ty: Ty,
    pub doc: &'static str,
}

#[derive(Debug)]
pub struct PropSpec {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// The default, as documented; `None` when the property has no default.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// How often a child may appear under its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurs {
    Optional,
    Required,
    Many,
    OneOrMore,
}

impl Occurs {
    pub fn required(self) -> bool {
        matches!(self, Occurs::Required | Occurs::OneOrMore)
    }

    pub fn repeats(self) -> bool {
        matches!(self, Occurs::Many | Occurs::OneOrMore)
    }
}

#[derive(Debug)]
pub struct ChildSpec {
    pub node: &'static NodeSpec,
    pub occurs: Occurs,
}

/// Arguments after the fixed ones: `dns "10.0.0.1" "10.0.0.2"`.
#[derive(Debug)]
pub struct RestSpec {
    pub name: &'static str,
    pub ty: Ty,
    pub min: usize,
    pub max: usize,
    pub doc: &'static str,
}

#[derive(Debug)]
pub struct NodeSpec {
    pub name: &'static str,
    pub doc: &'static str,
    /// Positional arguments, all required.
    pub args: &'static [ArgSpec],
    /// Further arguments of one type.
    pub rest: Option<RestSpec>,
    pub props: &'static [PropSpec],
    /// Arbitrary `key=value` properties (label maps): keys are label keys, values of
    /// this type.
    pub free_props: Option<Ty>,
    pub children: &'static [ChildSpec],
    /// The default when this setting is absent, as documented.
    pub default: Option<&'static str>,
}

impl NodeSpec {
    pub fn child(&self, name: &str) -> Option<&'static ChildSpec> {
        self.children.iter().find(|c| c.node.name == name)
    }

    pub fn prop(&self, name: &str) -> Option<&'static PropSpec> {
        self.props.iter().find(|p| p.name == name)
    }
}

const fn arg(name: &'static str, ty: Ty, doc: &'static str) -> ArgSpec {
    ArgSpec { name, ty, doc }
}

const fn prop(
    name: &'static str,
    ty: Ty,
    default: Option<&'static str>,
    doc: &'static str,
) -> PropSpec {
    PropSpec {
        name,
        ty,
        required: false,
        default,
        doc,
    }
}

const fn required_prop(name: &'static str, ty: Ty, doc: &'static str) -> PropSpec {
    PropSpec {
        name,
        ty,
        required: true,
        default: None,
        doc,
    }
}

const fn child(node: &'static NodeSpec, occurs: Occurs) -> ChildSpec {
    ChildSpec { node, occurs }
}

/// A setting node with one argument and nothing else: `switch "External"`.
const fn setting(
    name: &'static str,
    ty: Ty,
    default: Option<&'static str>,
    doc: &'static str,
) -> NodeSpec {
    NodeSpec {
        name,
        doc,
        args: &[],
        rest: Some(RestSpec {
            name: "value",
            ty,
            min: 1,
            max: 1,
            doc: "",
        }),
        props: &[],
        free_props: None,
        children: &[],
        default,
    }
}

/// A node whose properties are labels: `labels app="web" tier="front"`.
const fn label_map(name: &'static str, doc: &'static str) -> NodeSpec {
    NodeSpec {
        name,
        doc,
        args: &[],
        rest: None,
        props: &[],
        free_props: Some(Ty::LabelValue),
        children: &[],
        default: None,
    }
}

const NO_ARGS: &[ArgSpec] = &[];

pub const PLUGINS: &[&str] = &["calico", "flannel"];
pub const OS_KINDS: &[&str] = &["linux", "windows"];
pub const NETWORK_MODES: &[&str] = &["static", "dhcp"];
pub const LB_SKUS: &[&str] = &["haproxy", "none"];
pub const IP_FAMILIES: &[&str] = &["ipv4", "ipv6", "dual"];
pub const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
pub const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
pub const RULE_PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP", "ICMP"];
pub const PATH_TYPES: &[&str] = &["Prefix", "Exact", "ImplementationSpecific"];
pub const DIRECTIONS: &[&str] = &["ingress", "egress"];
pub const POLICY_TARGETS: &[&str] = &["auto", "kubernetes", "calico"];
/// The presets of `stdlib/presets.kdl` (a test keeps the two in step).
pub const PRESET_NAMES: &[&str] = &[
    "default-deny",
    "default-deny-ingress",
    "default-deny-egress",
    "allow-dns",
    "allow-same-namespace",
    "deny-cloud-metadata",
    "allow-from-ingress-nginx",
];
pub const BALANCE_ALGORITHMS: &[&str] = &["roundrobin", "leastconn", "source"];

// ---------------------------------------------------------------- network

pub static SWITCH: NodeSpec = setting(
    "switch",
    Ty::Text,
    None,
    "Name of the external Hyper-V virtual switch (`Get-VMSwitch`).",
);
pub static MODE: NodeSpec = setting(
    "mode",
    Ty::Choice(NETWORK_MODES),
    Some("static"),
    "How node VMs get their addresses: from the node IP pool (`static`) or from DHCP (`dhcp`).",
);
pub static PREFIX: NodeSpec = setting(
    "prefix",
    Ty::Cidr,
    None,
    "Address prefix of the network's subnet (`-ipAddressPrefix`).",
);
pub static GATEWAY: NodeSpec = setting("gateway", Ty::Ip, None, "Default gateway of the subnet.");
pub static DNS: NodeSpec = NodeSpec {
    name: "dns",
    doc: "DNS servers of the subnet, one to three addresses (`-dnsServers`).",
    args: NO_ARGS,
    rest: Some(RestSpec {
        name: "server",
        ty: Ty::Ip,
        min: 1,
        max: 3,
        doc: "a DNS server address",
    }),
    props: &[],
    free_props: None,
    children: &[],
    default: None,
};
pub static VLAN: NodeSpec = setting(
    "vlan",
    Ty::Int { min: 1, max: 4094 },
    None,
    "VLAN ID tagged on the VMs' network adapters; untagged when absent.",
);
pub static NODE_IPS: NodeSpec = NodeSpec {
    name: "node-ips",
    doc: "First and last address of the pool node and load-balancer VMs draw from (`-k8sNodeIpPoolStart/End`).",
    args: &[
        arg("start", Ty::Ip, "first address of the pool"),
        arg("end", Ty::Ip, "last address of the pool (inclusive)"),
    ],
    rest: None,
    props: &[],
    free_props: None,
    children: &[],
    default: None,
};
pub static VIPS: NodeSpec = NodeSpec {
    name: "vips",
    doc: "First and last address of the pool API servers and LoadBalancer services draw from (`-vipPoolStart/End`).",
    args: &[
        arg("start", Ty::Ip, "first address of the pool"),
        arg("end", Ty::Ip, "last address of the pool (inclusive)"),
    ],
    rest: None,
    props: &[],
    free_props: None,
    children: &[],
    default: None,
};

pub static NETWORK: NodeSpec = NodeSpec {
    name: "network",
    doc: "An AksHci virtual network: the host network (New-AksHciNetworkSetting) or a cluster network (New-AksHciClusterNetwork).",
    args: &[arg("name", Ty::AksHciName, "name of the network")],
    rest: None,
    props: &[],
    free_props: None,
    children: &[
        child(&SWITCH, Occurs::Required),
        child(&MODE, Occurs::Optional),
        child(&PREFIX, Occurs::Optional),
        child(&GATEWAY, Occurs::Optional),
        child(&DNS, Occurs::Optional),
        child(&VLAN, Occurs::Optional),
        child(&NODE_IPS, Occurs::Optional),
        child(&VIPS, Occurs::Required),
    ],
    default: None,
};

// ---------------------------------------------------------------- host

pub static HOST_NETWORK: NodeSpec = setting(
    "network",
    Ty::Ref(RefKind::Network),
    None,
    "The network of the AKS host (management cluster); it becomes the New-AksHciNetworkSetting.",
);
pub static CLOUD_SERVICE_CIDR: NodeSpec = setting(
    "cloud-service-cidr",
    Ty::IfaceCidr,
    None,
    "Address of the MOC cloud agent with its prefix length (`-cloudServiceCidr`); needed when the hosts use static addresses.",
);
pub static IMAGE_DIR: NodeSpec = setting(
    "image-dir",
    Ty::Path,
    Some("%systemdrive%\\AksHciImageStore"),
    "Shared folder for VHD images (`-imageDir`).",
);
pub static WORKING_DIR: NodeSpec = setting(
    "working-dir",
    Ty::Path,
    Some("%systemdrive%\\AksHci"),
    "Shared working folder (`-workingDir`).",
);
pub static CLOUD_CONFIG_DIR: NodeSpec = setting(
    "cloud-config-dir",
    Ty::Path,
    Some("%systemdrive%\\wssdcloudagent"),
    "Shared folder of the cloud agent configuration (`-cloudConfigLocation`).",
);

pub static HOST: NodeSpec = NodeSpec {
    name: "host",
    doc: "The AKS host (management cluster). Optional; without it trellis assumes the host is installed elsewhere and draws nothing for it from the declared pools.",
    args: NO_ARGS,
    rest: None,
    props: &[],
    free_props: None,
    children: &[
        child(&HOST_NETWORK, Occurs::Required),
        child(&CLOUD_SERVICE_CIDR, Occurs::Optional),
        child(&IMAGE_DIR, Occurs::Optional),
        child(&WORKING_DIR, Occurs::Optional),
        child(&CLOUD_CONFIG_DIR, Occurs::Optional),
    ],
    default: None,
};

// ---------------------------------------------------------------- cluster

pub static CLUSTER_NETWORK: NodeSpec = setting(
    "network",
    Ty::Ref(RefKind::Network),
    None,
    "The network the cluster's VMs attach to.",
);
pub static PLUGIN: NodeSpec = setting(
    "plugin",
    Ty::Choice(PLUGINS),
    Some("calico"),
    "Network plugin (CNI), fixed at creation (`-primaryNetworkPlugin`). Flannel is retired.",
);
pub static KUBERNETES: NodeSpec = setting(
    "kubernetes",
    Ty::Version,
    Some("the newest version the AksHci host offers"),
    "Kubernetes version (`-kubernetesVersion`).",
);
pub static NODE_ADDRESSES: NodeSpec = NodeSpec {
    name: "addresses",
    doc: "The VMs' addresses on a DHCP network (reserved in the DHCP server), one per VM; HAProxy backends use them. Static networks allocate node addresses instead.",
    args: NO_ARGS,
    rest: Some(RestSpec {
        name: "address",
        ty: Ty::Ip,
        min: 1,
        max: 1000,
        doc: "a VM's address",
    }),
    props: &[],
    free_props: None,
    children: &[],
    default: None,
};

pub static CONTROL_PLANE: NodeSpec = NodeSpec {
    name: "control-plane",
    doc: "The control-plane nodes.",
    args: NO_ARGS,
    rest: None,
    props: &[
        prop(
            "count",
            Ty::Int { min: 1, max: 9 },
            Some("1"),
            "number of control-plane VMs (`-controlPlaneNodeCount`)",
        ),
        prop(
            "vm-size",
            Ty::VmSize,
            Some("Standard_A4_v2"),
            "VM size (`-controlPlaneVmSize`)",
        ),
    ],
    free_props: None,
    children: &[child(&NODE_ADDRESSES, Occurs::Optional)],
    default: Some("count=1 vm-size=\"Standard_A4_v2\""),
};
pub static LOAD_BALANCER: NodeSpec = NodeSpec {
    name: "load-balancer",
    doc: "The cluster's load-balancer VMs (HAProxy), or `sku=\"none\"` to bring your own.",
    args: NO_ARGS,
    rest: None,
    props: &[
        prop(
            "sku",
            Ty::Choice(LB_SKUS),
            Some("haproxy"),
            "`haproxy` (VMs managed by AksHci) or `none`",
        ),
        prop(
            "count",
            Ty::Int { min: 1, max: 8 },
            Some("1"),
            "number of HAProxy VMs (`-loadBalancerCount`)",
        ),
        prop(
            "vm-size",
            Ty::VmSize,
            Some("Standard_A4_v2"),
            "VM size of each load-balancer VM",
        ),
        prop(
            "interface",
            Ty::InterfaceName,
            Some("eth0"),
            "network interface of the load-balancer VMs that holds the VIPs (keepalived)",
        ),
    ],
    free_props: None,
    children: &[],
    default: Some("sku=\"haproxy\" count=1"),
};
pub static TAINT: NodeSpec = setting(
    "taint",
    Ty::Taint,
    None,
    "A taint on every node of the pool, e.g. \"sku=Windows:NoSchedule\" (immutable after creation).",
);
pub static NODE_POOL: NodeSpec = NodeSpec {
    name: "node-pool",
    doc: "A pool of worker VMs of one OS.",
    args: &[arg(
        "name",
        Ty::K8sName,
        "name of the pool, unique in the cluster",
    )],
    rest: None,
    props: &[
        prop(
            "os",
            Ty::Choice(OS_KINDS),
            Some("linux"),
            "operating system of the pool's VMs (`-osType`)",
        ),
        prop(
            "count",
            Ty::Int { min: 0, max: 1000 },
            Some("1"),
            "number of worker VMs (`-nodeCount`)",
        ),
        prop(
            "vm-size",
            Ty::VmSize,
            Some("Standard_K8S3_v1"),
            "VM size (`-nodeVmSize`)",
        ),
        prop(
            "os-sku",
            Ty::Choice(&["Windows2019", "Windows2022"]),
            None,
            "Windows Server version of a Windows pool (`-osSku`)",
        ),
        prop(
            "max-pods",
            Ty::Int { min: 51, max: 250 },
            Some("110"),
            "maximum pods per node (`-nodeMaxPodCount`), more than 50",
        ),
    ],
    free_props: None,
    children: &[
        child(&TAINT, Occurs::Many),
        child(&NODE_ADDRESSES, Occurs::Optional),
    ],
    default: None,
};
pub static POD_CIDR: NodeSpec = setting(
    "pod-cidr",
    Ty::Cidr,
    Some("10.244.0.0/16"),
    "Address range of the pods (overlay); a /24 per node.",
);
pub static SERVICE_CIDR: NodeSpec = setting(
    "service-cidr",
    Ty::Cidr,
    Some("10.96.0.0/12"),
    "Address range of ClusterIP services.",
);
pub static IP_FAMILY: NodeSpec = setting(
    "ip-family",
    Ty::Choice(IP_FAMILIES),
    Some("ipv4"),
    "Address family of pods and services.",
);

pub static RECREATE: NodeSpec = setting(
    "recreate",
    Ty::Bool,
    Some("#false"),
    "Mark the cluster for re-creation: allows changing what is immutable after deployment (the network plugin) against `trellis.lock`.",
);

pub static CLUSTER: NodeSpec = NodeSpec {
    name: "cluster",
    doc: "A workload cluster (New-AksHciCluster) with its node pools.",
    args: &[arg("name", Ty::AksHciName, "name of the cluster")],
    rest: None,
    props: &[],
    free_props: None,
    children: &[
        child(&CLUSTER_NETWORK, Occurs::Required),
        child(&PLUGIN, Occurs::Optional),
        child(&KUBERNETES, Occurs::Optional),
        child(&CONTROL_PLANE, Occurs::Optional),
        child(&LOAD_BALANCER, Occurs::Optional),
        child(&NODE_POOL, Occurs::OneOrMore),
        child(&POD_CIDR, Occurs::Optional),
        child(&SERVICE_CIDR, Occurs::Optional),
        child(&IP_FAMILY, Occurs::Optional),
        child(&RECREATE, Occurs::Optional),
    ],
    default: None,
};

// ---------------------------------------------------------------- namespace

pub static LABELS: NodeSpec = label_map("labels", "Labels, as `key=\"value\"` properties.");

const IN_CLUSTER: PropSpec = required_prop(
    "cluster",
    Ty::Ref(RefKind::Cluster),
    "the cluster it belongs to",
);
const IN_NAMESPACE: PropSpec = required_prop(
    "namespace",
    Ty::Ref(RefKind::Namespace),
    "the namespace it belongs to",
);

pub static NAMESPACE: NodeSpec = NodeSpec {
    name: "namespace",
    doc: "A Kubernetes namespace of a cluster.",
    args: &[arg("name", Ty::K8sName, "name of the namespace")],
    rest: None,
    props: &[IN_CLUSTER],
    free_props: None,
    children: &[child(&LABELS, Occurs::Optional)],
    default: None,
};

// ---------------------------------------------------------------- workload

pub static IMAGE: NodeSpec = setting("image", Ty::Image, None, "Container image.");
pub static REPLICAS: NodeSpec = setting(
    "replicas",
    Ty::Int { min: 0, max: 10000 },
    Some("1"),
    "Number of pods.",
);
pub static WORKLOAD_PORT: NodeSpec = NodeSpec {
    name: "port",
    doc: "A named container port.",
    args: &[
        arg(
            "name",
            Ty::PortName,
            "name of the port, used by services and policies",
        ),
        arg("number", Ty::Port, "the port the container listens on"),
    ],
    rest: None,
    props: &[prop(
        "protocol",
        Ty::Choice(PROTOCOLS),
        Some("TCP"),
        "transport protocol",
    )],
    free_props: None,
    children: &[],
    default: None,
};
pub static OS: NodeSpec = setting(
    "os",
    Ty::Choice(OS_KINDS),
    Some("linux"),
    "The OS the image needs; pods are scheduled on node pools of that OS.",
);

pub static REACHES: NodeSpec = NodeSpec {
    name: "reaches",
    doc: "Addresses outside the cluster the workload connects to (VMs, databases, appliances).",
    args: NO_ARGS,
    rest: Some(RestSpec {
        name: "address",
        ty: Ty::AddrOrCidr,
        min: 1,
        max: 100,
        doc: "an address or prefix the workload connects to",
    }),
    props: &[],
    free_props: None,
    children: &[],
    default: None,
};

pub static WORKLOAD: NodeSpec = NodeSpec {
    name: "workload",
    doc: "A set of identical pods (a Deployment).",
    args: &[arg("name", Ty::K8sName, "name of the workload")],
    rest: None,
    props: &[IN_CLUSTER, IN_NAMESPACE],
    free_props: None,
    children: &[
        child(&IMAGE, Occurs::Required),
        child(&REPLICAS, Occurs::Optional),
        child(&LABELS, Occurs::Optional),
        child(&WORKLOAD_PORT, Occurs::Many),
        child(&OS, Occurs::Optional),
        child(&REACHES, Occurs::Many),
    ],
    default: None,
};

// ---------------------------------------------------------------- service

pub static SERVICE_TYPE: NodeSpec = setting(
    "type",
    Ty::Choice(SERVICE_TYPES),
    Some("ClusterIP"),
    "Kind of service.",
);
pub static SELECT: NodeSpec = label_map(
    "select",
    "The pods behind the service, by labels (`key=\"value\"` properties).",
);
pub static SERVICE_PORT: NodeSpec = NodeSpec {
    name: "port",
    doc: "A port the service exposes.",
    args: &[arg("port", Ty::Port, "the port clients connect to")],
    rest: None,
    props: &[
        prop(
            "target",
            Ty::PortOrName,
            Some("the same number as `port`"),
            "the pods' port: a number or a workload's port name",
        ),
        prop(
            "protocol",
            Ty::Choice(PROTOCOLS),
            Some("TCP"),
            "transport protocol",
        ),
        prop(
            "name",
            Ty::PortName,
            Some("derived from the port"),
            "name of the service port",
        ),
        prop(
            "node-port",
            Ty::Int {
                min: 30000,
                max: 32767,
            },
            Some("allocated"),
            "pin the NodePort instead of letting trellis allocate it",
        ),
    ],
    free_props: None,
    children: &[],
    default: None,
};
pub static INTERNAL: NodeSpec = setting(
    "internal",
    Ty::Bool,
    Some("#false"),
    "An internal load balancer: a private address only, unreachable from outside the datacenter.",
);
pub static ADDRESS: NodeSpec = setting(
    "address",
    Ty::Ip,
    Some("allocated from the VIP pool"),
    "Pin the load-balancer address (inside the network's VIP pool).",
);
pub static EXTERNAL_NAME: NodeSpec = setting(
    "external-name",
    Ty::DnsName,
    None,
    "The DNS name an ExternalName service aliases.",
);

pub static BALANCE: NodeSpec = setting(
    "balance",
    Ty::Choice(BALANCE_ALGORITHMS),
    Some("roundrobin"),
    "How the HAProxy VM spreads connections over the nodes.",
);
pub static HEALTH_CHECK: NodeSpec = NodeSpec {
    name: "health-check",
    doc: "How the HAProxy VM checks the nodes behind the service: TCP connects by default, HTTP requests with `path`.",
    args: NO_ARGS,
    rest: None,
    props: &[
        prop("path", Ty::HttpPath, None, "check with HTTP GET on this path (and balance in HTTP mode); a TCP connect when absent"),
        prop("interval", Ty::Int { min: 100, max: 600_000 }, Some("2000"), "milliseconds between checks"),
        prop("rise", Ty::Int { min: 1, max: 100 }, Some("2"), "successful checks before a node is used again"),
        prop("fall", Ty::Int { min: 1, max: 100 }, Some("3"), "failed checks before a node is taken out"),
    ],
    free_props: None,
    children: &[],
    default: Some("TCP connect every 2000 ms, rise 2, fall 3"),
};

pub static SERVICE: NodeSpec = NodeSpec {
    name: "service",
    doc: "A Kubernetes Service.",
    args: &[arg(
        "name",
        Ty::ServiceName,
        "name of the service (a DNS-1035 label: starts with a letter)",
    )],
    rest: None,
    props: &[IN_CLUSTER, IN_NAMESPACE],
    free_props: None,
    children: &[
        child(&SERVICE_TYPE, Occurs::Optional),
        child(&SELECT, Occurs::Optional),
        child(&SERVICE_PORT, Occurs::Many),
        child(&INTERNAL, Occurs::Optional),
        child(&ADDRESS, Occurs::Optional),
        child(&EXTERNAL_NAME, Occurs::Optional),
        child(&BALANCE, Occurs::Optional),
        child(&HEALTH_CHECK, Occurs::Optional),
    ],
    default: None,
};

// ---------------------------------------------------------------- ingress

pub static CLASS: NodeSpec = setting(
    "class",
    Ty::K8sName,
    Some("the cluster's default IngressClass"),
    "IngressClass that serves this ingress.",
);
pub static TLS: NodeSpec = NodeSpec {
    name: "tls",
    doc: "Hosts served over TLS with the certificate in a Secret.",
    args: NO_ARGS,
    rest: Some(RestSpec {
        name: "host",
        ty: Ty::Host,
        min: 1,
        max: 100,
        doc: "a host name the certificate covers",
    }),
    props: &[required_prop(
        "secret",
        Ty::K8sName,
        "the Secret holding the certificate and key",
    )],
    free_props: None,
    children: &[],
    default: None,
};
pub static ROUTE: NodeSpec = NodeSpec {
    name: "route",
    doc: "A path routed to a service port.",
    args: &[arg("path", Ty::HttpPath, "the HTTP path")],
    rest: None,
    props: &[
        required_prop(
            "service",
            Ty::Ref(RefKind::Service),
            "the service in the ingress's namespace",
        ),
        required_prop("port", Ty::PortOrName, "the service's port number or name"),
        prop(
            "match",
            Ty::Choice(PATH_TYPES),
            Some("Prefix"),
            "how the path matches (`pathType`)",
        ),
    ],
    free_props: None,
    children: &[],
    default: None,
};
pub static RULE: NodeSpec = NodeSpec {
    name: "rule",
    doc: "Routes for one host (or every host when the argument is absent).",
    args: NO_ARGS,
    rest: Some(RestSpec {
        name: "host",
        ty: Ty::Host,
        min: 0,
        max: 1,
        doc: "the host the rule applies to",
    }),
    props: &[],
    free_props: None,
    children: &[child(&ROUTE, Occurs::OneOrMore)],
    default: None,
};

pub static INGRESS: NodeSpec = NodeSpec {
    name: "ingress",
    doc: "An HTTP ingress (networking.k8s.io/v1 Ingress).",
    args: &[arg("name", Ty::K8sName, "name of the ingress")],
    rest: None,
    props: &[IN_CLUSTER, IN_NAMESPACE],
    free_props: None,
    children: &[
        child(&CLASS, Occurs::Optional),
        child(&TLS, Occurs::Many),
        child(&RULE, Occurs::OneOrMore),
    ],
    default: None,
};

// ---------------------------------------------------------------- policy

pub static PODS: NodeSpec = label_map(
    "pods",
    "Pods selected by labels (`key=\"value\"` properties).",
);
pub static NAMESPACES: NodeSpec = label_map(
    "namespaces",
    "Namespaces selected by labels (`key=\"value\"` properties).",
);
pub static WORKLOADS: NodeSpec = NodeSpec {
    name: "workloads",
    doc: "Pods selected by workload names (in the policy's namespace).",
    args: NO_ARGS,
    rest: Some(RestSpec {
        name: "workload",
        ty: Ty::Ref(RefKind::Workload),
        min: 1,
        max: 1000,
        doc: "a workload name",
    }),
    props: &[],
    free_props: None,
    children: &[],
    default: None,
};
pub static EXCEPT: NodeSpec = NodeSpec {
    name: "except",
    doc: "Prefixes excluded from the peer's `cidr`.",
    args: NO_ARGS,
    rest: Some(RestSpec {
        name: "prefix",
        ty: Ty::Cidr,
        min: 1,
        max: 100,
        doc: "an excluded prefix",
    }),
    props: &[],
    free_props: None,
    children: &[],
    default: None,
};

const PEER_PROPS: &[PropSpec] = &[
    prop(
        "workload",
        Ty::Ref(RefKind::Workload),
        None,
        "the pods of a declared workload",
    ),
    prop(
        "namespace",
        Ty::Ref(RefKind::Namespace),
        Some("the policy's namespace"),
        "the namespace of `workload`, or alone: every pod of that namespace",
    ),
    prop(
        "cidr",
        Ty::Cidr,
        None,
        "an address range outside the cluster",
    ),
    prop("anywhere", Ty::Bool, Some("#false"), "every address"),
    prop("nodes", Ty::Bool, Some("#false"), "the cluster's nodes"),
];
const PEER_CHILDREN: &[ChildSpec] = &[
    child(&PODS, Occurs::Optional),
    child(&NAMESPACES, Occurs::Optional),
    child(&EXCEPT, Occurs::Optional),
];

const fn peer(name: &'static str, doc: &'static str) -> NodeSpec {
    NodeSpec {
        name,
        doc,
        args: NO_ARGS,
        rest: None,
        props: PEER_PROPS,
        free_props: None,
        children: PEER_CHILDREN,
        default: None,
    }
}

pub static FROM: NodeSpec = peer("from", "A source of ingress traffic.");
pub static TO: NodeSpec = peer("to", "A destination of egress traffic.");
pub static RULE_PORT: NodeSpec = NodeSpec {
    name: "port",
    doc: "A destination port, a port range (`end=`) or a named port.",
    args: &[arg("port", Ty::PortOrName, "the port number or name")],
    rest: None,
    props: &[
        prop(
            "end",
            Ty::Port,
            None,
            "last port of a range starting at `port`",
        ),
        prop(
            "protocol",
            Ty::Choice(PROTOCOLS),
            Some("TCP"),
            "transport protocol",
        ),
    ],
    free_props: None,
    children: &[],
    default: None,
};
pub static RULE_PROTOCOL: NodeSpec = setting(
    "protocol",
    Ty::Choice(RULE_PROTOCOLS),
    Some("any protocol"),
    "Protocol of a rule without ports.",
);
pub static ICMP: NodeSpec = NodeSpec {
    name: "icmp",
    doc: "ICMP type and code matched by the rule (Calico only).",
    args: NO_ARGS,
    rest: None,
    props: &[
        prop("type", Ty::Int { min: 0, max: 254 }, None, "ICMP type"),
        prop(
            "code",
            Ty::Int { min: 0, max: 255 },
            None,
            "ICMP code (needs `type`)",
        ),
    ],
    free_props: None,
    children: &[],
    default: None,
};

const RULE_CHILDREN: &[ChildSpec] = &[
    child(&FROM, Occurs::Many),
    child(&TO, Occurs::Many),
    child(&RULE_PORT, Occurs::Many),
    child(&RULE_PROTOCOL, Occurs::Optional),
    child(&ICMP, Occurs::Optional),
];

const RULE_ARGS: &[ArgSpec] = &[arg(
    "direction",
    Ty::Choice(DIRECTIONS),
    "`ingress` (traffic to the selected pods) or `egress` (traffic from them)",
)];

const fn policy_rule(name: &'static str, doc: &'static str) -> NodeSpec {
    NodeSpec {
        name,
        doc,
        args: RULE_ARGS,
        rest: None,
        props: &[],
        free_props: None,
        children: RULE_CHILDREN,
        default: None,
    }
}

pub static ALLOW: NodeSpec = policy_rule("allow", "Allow matching traffic.");
pub static DENY: NodeSpec = policy_rule("deny", "Deny matching traffic (Calico).");
pub static LOG: NodeSpec = policy_rule(
    "log",
    "Log matching traffic and go on to the next rule (Calico).",
);
pub static PASS: NodeSpec =
    policy_rule("pass", "Skip the remaining policies of this tier (Calico).");

pub static POLICY: NodeSpec = NodeSpec {
    name: "policy",
    doc: "A network policy: which pods it applies to, and ordered rules for their traffic.",
    args: &[arg("name", Ty::K8sName, "name of the policy")],
    rest: None,
    props: &[
        IN_CLUSTER,
        prop(
            "namespace",
            Ty::Ref(RefKind::Namespace),
            None,
            "the namespace it applies in; required unless `global=#true`",
        ),
        prop(
            "global",
            Ty::Bool,
            Some("#false"),
            "apply cluster-wide (a Calico GlobalNetworkPolicy)",
        ),
        prop(
            "order",
            Ty::Int {
                min: 0,
                max: 1_000_000,
            },
            None,
            "evaluation order among Calico policies (lower first)",
        ),
        prop(
            "target",
            Ty::Choice(POLICY_TARGETS),
            Some("auto"),
            "force the output: Kubernetes NetworkPolicy or Calico",
        ),
        prop(
            "preset",
            Ty::Choice(PRESET_NAMES),
            None,
            "a policy from `stdlib/presets.kdl` whose rules come before the policy's own",
        ),
    ],
    free_props: None,
    children: &[
        child(&PODS, Occurs::Optional),
        child(&WORKLOADS, Occurs::Optional),
        child(&ALLOW, Occurs::Many),
        child(&DENY, Occurs::Many),
        child(&LOG, Occurs::Many),
        child(&PASS, Occurs::Many),
    ],
    default: None,
};

/// A preset of `stdlib/presets.kdl`: a named list of policy rules.
pub static PRESET: NodeSpec = NodeSpec {
    name: "preset",
    doc: "A policy preset (stdlib only): rules a policy takes with `preset=`.",
    args: &[arg("name", Ty::K8sName, "name of the preset")],
    rest: None,
    props: &[],
    free_props: None,
    children: &[
        child(&ALLOW, Occurs::Many),
        child(&DENY, Occurs::Many),
        child(&LOG, Occurs::Many),
        child(&PASS, Occurs::Many),
    ],
    default: None,
};

pub const EXPECT_ACTIONS: &[&str] = &["allow", "deny"];

/// A compile-time expectation about reachability.
pub static EXPECT: NodeSpec = NodeSpec {
    name: "expect",
    doc: "An expectation checked at compile time: the policies allow (or deny) a connection.",
    args: &[arg(
        "verdict",
        Ty::Choice(EXPECT_ACTIONS),
        "`allow` or `deny`",
    )],
    rest: None,
    props: &[
        required_prop(
            "cluster",
            Ty::Ref(RefKind::Cluster),
            "the cluster the connection is in",
        ),
        required_prop(
            "from",
            Ty::Text,
            "the source: `namespace/workload`, or an address outside the cluster's pods",
        ),
        required_prop(
            "to",
            Ty::Text,
            "the destination: `namespace/workload`, or an address",
        ),
        required_prop("port", Ty::Port, "the destination port"),
        prop(
            "protocol",
            Ty::Choice(PROTOCOLS),
            Some("TCP"),
            "transport protocol",
        ),
    ],
    free_props: None,
    children: &[],
    default: None,
};

/// The nodes allowed at the top level of a file.
pub static TOP_LEVEL: &[&NodeSpec] = &[
    &NETWORK, &HOST, &CLUSTER, &NAMESPACE, &WORKLOAD, &SERVICE, &INGRESS, &POLICY, &EXPECT,
];

pub fn top_level(name: &str) -> Option<&'static NodeSpec> {
    TOP_LEVEL.iter().copied().find(|n| n.name == name)
}
