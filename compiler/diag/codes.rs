//! The registry of diagnostic codes: the one place a code is defined.
//!
//! Ranges by stage: TR01xx load and parse, TR02xx lowering (unknown node, property,
//! type, value), TR03xx names and references, TR04xx addresses and pools, TR05xx
//! services and ports, TR06xx policies, TR07xx plugin and platform limits.
//!
//! Each entry has a kebab-case name that states the problem, a default severity, a
//! one-line summary, a default help line, and a long explanation in
//! `explain/TRxxxx.md` (printed by `trellis explain`). Retired codes are never reused.
//!
//! Invariant: `tests/registry.rs` checks that every code has an explanation with a
//! failing example, a UI test and a use in `compiler/`.

use super::Severity;

#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub help: &'static str,
    pub explanation: &'static str,
}

macro_rules! codes {
    ($($id:ident $code:literal $name:literal $sev:ident $summary:literal help $help:literal;)*) => {
        $(
            pub static $id: Code = Code {
                code: $code,
                name: $name,
                severity: Severity::$sev,
                summary: $summary,
                help: $help,
                explanation: include_str!(concat!("explain/", $code, ".md")),
            };
        )*
        /// Every registered code, in code order.
        pub static ALL: &[&Code] = &[$(&$id),*];
    };
}

codes! {
    KDL_SYNTAX "TR0101" "kdl-syntax-error" Error
        "the file is not valid KDL (version 2)"
        help "fix the syntax at the marked place; see https://kdl.dev for the KDL v2 grammar";
    INVALID_UTF8 "TR0102" "invalid-utf8" Error
        "the file is not valid UTF-8"
        help "save the file as UTF-8";
    NESTING_TOO_DEEP "TR0103" "nesting-too-deep" Error
        "children blocks are nested deeper than trellis accepts"
        help "trellis sources never need more than a few levels of `{ }`; remove the extra nesting";
    FILE_TOO_LARGE "TR0104" "file-too-large" Error
        "the file is larger than trellis accepts"
        help "split the project into several files of at most 16 MiB each";
    MALFORMED_LOCK "TR0105" "malformed-lock" Error
        "trellis.lock cannot be read"
        help "restore trellis.lock from version control, or delete it to let trellis allocate afresh (addresses may move)";

    UNKNOWN_NODE "TR0201" "unknown-node" Error
        "a node that the language does not define at this place"
        help "use one of the nodes listed for this place in docs/language.md";
    UNKNOWN_PROPERTY "TR0202" "unknown-property" Error
        "a property that this node does not accept"
        help "use one of the properties this node accepts (docs/language.md)";
    UNEXPECTED_ARGUMENT "TR0203" "unexpected-argument" Error
        "more arguments than this node accepts"
        help "remove the extra argument";
    MISSING_ARGUMENT "TR0204" "missing-argument" Error
        "a required argument is missing"
        help "add the missing argument";
    MISSING_PROPERTY "TR0205" "missing-property" Error
        "a required property is missing"
        help "add the missing property";
    WRONG_VALUE_TYPE "TR0206" "wrong-value-type" Error
        "a value of the wrong type"
        help "write a value of the expected type";
    INVALID_CHOICE "TR0207" "invalid-choice" Error
        "a value that is not one of the allowed choices"
        help "use one of the allowed values";
    INVALID_CIDR "TR0208" "invalid-cidr" Error
        "a malformed address prefix (CIDR)"
        help "write a prefix as ADDRESS/LENGTH with the host bits zero, e.g. \"10.20.0.0/16\"";
    INVALID_IP "TR0209" "invalid-ip-address" Error
        "a malformed IP address"
        help "write an IPv4 address in dotted form, e.g. \"10.20.0.1\"";
    INVALID_PORT "TR0210" "invalid-port" Error
        "a port number outside 1-65535, or a malformed port name"
        help "use a port number from 1 to 65535, or a declared port name";
    INVALID_DNS_NAME "TR0211" "invalid-dns-name" Error
        "a malformed DNS name"
        help "use lowercase letters, digits, '-' and '.', labels of at most 63 characters";
    INVALID_K8S_NAME "TR0212" "invalid-kubernetes-name" Error
        "a name that Kubernetes would reject"
        help "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit";
    INVALID_LABEL "TR0213" "invalid-label" Error
        "a label key or value that Kubernetes would reject"
        help "keys are [prefix/]name with a name of at most 63 characters of [A-Za-z0-9._-]; values the same, or empty";
    REPEATED_SETTING "TR0214" "repeated-setting" Error
        "a property or setting given more than once"
        help "keep one of them";
    MISSING_SETTING "TR0215" "missing-setting" Error
        "a required child setting is missing"
        help "add the missing setting inside the node's `{ }` block";
    NUMBER_OUT_OF_RANGE "TR0216" "number-out-of-range" Error
        "a number outside the range this setting accepts"
        help "use a number inside the allowed range";
    INVALID_K8S_VERSION "TR0217" "invalid-kubernetes-version" Error
        "a Kubernetes version not of the form v<major>.<minor>.<patch>"
        help "write the version as AksHci lists it (Get-AksHciKubernetesVersion), e.g. \"v1.29.4\"";
    TYPE_ANNOTATION_MISMATCH "TR0218" "type-annotation-mismatch" Error
        "a KDL type annotation that does not match what the setting expects"
        help "remove the annotation, or use the one the setting expects";
    INVALID_AKSHCI_NAME "TR0219" "invalid-akshci-name" Error
        "a network or cluster name that the AksHci cmdlets reject"
        help "use only lowercase letters and digits, starting with a letter";
    CONFLICTING_SETTINGS "TR0220" "conflicting-settings" Error
        "two settings that cannot be used together"
        help "keep only one of them";
    INVALID_IMAGE "TR0221" "invalid-image-reference" Error
        "a malformed container image reference"
        help "write an image as [registry/]repository[:tag][@digest], e.g. \"nginx:1.27\"";
    INVALID_TEXT "TR0222" "invalid-text" Error
        "a string with characters that are unsafe in generated files"
        help "remove control characters, line breaks and bidirectional-text controls";
    INVALID_HTTP_PATH "TR0223" "invalid-http-path" Error
        "an HTTP path that Kubernetes would reject"
        help "write an absolute path starting with \"/\", without spaces (percent-encode them as %20)";

    DUPLICATE_DECLARATION "TR0301" "duplicate-declaration" Error
        "two declarations with the same name in the same scope"
        help "rename or remove one of the declarations";
    UNRESOLVED_REFERENCE "TR0302" "unresolved-reference" Error
        "a reference to something that is not declared"
        help "declare it, or refer to one of the declared names";

    INVALID_RANGE "TR0401" "invalid-range" Error
        "an address pool that ends before it starts"
        help "write the pool as its first address, then its last";
    OUTSIDE_PREFIX "TR0402" "outside-prefix" Error
        "a pool or gateway outside the network's address prefix"
        help "move it inside the prefix, or widen the prefix";
    OVERLAPPING_RANGES "TR0403" "overlapping-ranges" Error
        "two address ranges of the network plan overlap"
        help "give each pool, gateway and DNS server addresses of its own";
    DHCP_NODE_POOL "TR0404" "dhcp-node-pool" Error
        "a DHCP network with a node IP pool"
        help "remove `node-ips`: with DHCP, node VMs get their addresses from the DHCP server";
    IPV6_NETWORK "TR0405" "ipv6-network" Error
        "an IPv6 address in an AksHci network"
        help "use IPv4: AKS on Windows Server needs IPv6 disabled on the host network adapters";
    POOL_TOO_SMALL "TR0406" "pool-too-small" Error
        "an address pool smaller than what the clusters on it consume"
        help "widen the pool, or move a cluster to another network";
    CLUSTER_CIDR_OVERLAP "TR0407" "cluster-cidr-overlap" Error
        "a cluster's pod or service range overlaps another range"
        help "pod and service ranges must not overlap each other, a network or a pool";
    ADDRESS_OUTSIDE_VIP_POOL "TR0408" "address-outside-vip-pool" Error
        "a pinned load-balancer address outside the network's VIP pool"
        help "pin an address inside the VIP pool of the cluster's network";
    ADDRESS_USED_TWICE "TR0409" "address-used-twice" Error
        "one address pinned by two services on one network"
        help "pin a different address for one of them, or let trellis allocate it";
    SHARED_NETWORK_LB_HAZARD "TR0410" "shared-network-lb-hazard" Warning
        "clusters sharing a network expose load-balancer services on different ports"
        help "keep the trellis-allocated addresses pinned, use the same port in every cluster, or give each cluster its own network";
    PUBLIC_INTERNAL_ADDRESS "TR0411" "public-address-on-internal-lb" Error
        "an internal load balancer with a public address"
        help "an internal load balancer takes a private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)";
    LOCK_CONFLICT "TR0412" "lock-conflict" Error
        "a pinned value that trellis.lock has given to something else"
        help "pin a free value, or remove the other entry from trellis.lock so trellis re-allocates it";
    NODE_ADDRESSES_MISMATCH "TR0413" "node-addresses-mismatch" Error
        "declared node addresses that do not fit the pool or the network"
        help "declare one address per VM, each once, and only on DHCP networks";
    DHCP_BACKENDS_UNKNOWN "TR0414" "dhcp-backends-unknown" Warning
        "a cluster on a DHCP network whose node addresses are not declared"
        help "declare the VMs' reserved addresses with `addresses` in `control-plane` and each `node-pool`, so trellis can write the load balancer's configuration";

    DUPLICATE_NODE_PORT "TR0501" "duplicate-node-port" Error
        "one NodePort used twice in a cluster"
        help "pin a different node port, or let trellis allocate it";
    SELECTOR_MATCHES_NOTHING "TR0502" "selector-matches-nothing" Warning
        "a service selector that matches no workload of its namespace"
        help "make `select` match the labels of a workload in the service's namespace";
    TARGET_PORT_NOT_EXPOSED "TR0503" "target-port-not-exposed" Error
        "a named target port that the selected workloads do not declare"
        help "name a port the selected workloads declare with `port NAME NUMBER`";
    TARGET_PORT_UNDECLARED "TR0504" "target-port-undeclared" Warning
        "a numeric target port that none of the selected workloads declares"
        help "declare the port on the workload (`port NAME NUMBER`), or target a declared one";
    DUPLICATE_SERVICE_PORT "TR0505" "duplicate-service-port" Error
        "a service port or port name listed twice"
        help "give each port of a service its own number and protocol, and its own name";
    ROUTE_PORT_MISSING "TR0506" "route-port-missing" Error
        "an ingress route to a port its service does not have"
        help "route to one of the service's ports, by number or name";
    TLS_HOST_NOT_ROUTED "TR0507" "tls-host-not-routed" Warning
        "a TLS host that no rule of the ingress serves"
        help "add a `rule` for the host, or remove it from `tls`";
    CONFLICTING_ROUTE "TR0508" "conflicting-route" Error
        "two ingress routes for the same host and path"
        help "route each host and path once per ingress class";
    UDP_LOAD_BALANCER "TR0509" "udp-load-balancer" Error
        "a UDP or SCTP port on a LoadBalancer service"
        help "the HAProxy load balancer forwards TCP only: expose UDP with a NodePort service, or bring your own load balancer (`load-balancer sku=\"none\"`)";

    POLICY_NOT_EXPRESSIBLE "TR0601" "policy-not-expressible" Error
        "a policy forced to a Kubernetes NetworkPolicy that cannot express it"
        help "remove `target=\"kubernetes\"` to get a Calico policy, or remove the construct";
    POLICY_SELECTS_NOTHING "TR0602" "policy-selects-nothing" Warning
        "a policy or peer selector that matches no workload or namespace"
        help "check the labels against the declared workloads and namespaces";
    SHADOWED_RULE "TR0603" "shadowed-rule" Warning
        "a policy rule that can never match because an earlier rule decides all its traffic"
        help "move the rule above the unconditional one, or narrow the earlier rule";
    POLICY_PORT_NOT_EXPOSED "TR0604" "policy-port-not-exposed" Warning
        "a named port in a policy rule that no workload declares"
        help "name a port a workload declares, or use its number";
    UNORDERED_DECISION "TR0605" "unordered-decision" Error
        "a deny, log or pass rule in a policy without an order"
        help "add `order=N` to the policy: ordered policies run first, and what their rules do not decide goes on to the other policies";
    NODE_PEER_UNKNOWN "TR0606" "node-peer-unknown" Error
        "a `nodes` peer on a cluster whose node addresses are unknown"
        help "declare the VMs' `addresses` (or the network's `prefix`) so the rule can name the nodes";
    EXPECTATION_FAILED "TR0607" "expectation-failed" Error
        "an `expect` the policies do not meet"
        help "change the policies, or the expectation, so that they agree";

    FLANNEL_DEPRECATED "TR0701" "flannel-deprecated" Warning
        "the flannel network plugin is retired"
        help "use `plugin \"calico\"` for new clusters; the plugin cannot be changed after deployment";
    UNKNOWN_VM_SIZE "TR0702" "unknown-vm-size" Error
        "a VM size that AksHci does not offer"
        help "use a size from Get-AksHciVmSize, e.g. \"Standard_A4_v2\" or \"Standard_K8S3_v1\"";
    FLANNEL_POLICY "TR0703" "flannel-network-policy" Error
        "a network policy on a flannel cluster"
        help "flannel enforces no network policies; use a calico cluster (the plugin is chosen at creation)";
    FLANNEL_IPV6 "TR0704" "flannel-ipv6" Error
        "IPv6 or dual-stack on a flannel cluster"
        help "flannel supports IPv4 only; use ip-family \"ipv4\"";
    FLANNEL_SAME_NETWORK_VM "TR0705" "flannel-same-network-vm" Error
        "a flannel workload that must reach a VM on its cluster's own network"
        help "flannel pods cannot reach VMs on the cluster's network; use calico, or move the VM to another network";
    IPV6_UNSUPPORTED "TR0706" "ipv6-unsupported" Error
        "IPv6 or dual-stack pod networking on AKS on Windows Server"
        help "use ip-family \"ipv4\": the PowerShell-deployed platform runs IPv4 only";
    PLUGIN_CHANGED "TR0707" "plugin-changed" Error
        "a deployed cluster's network plugin changed"
        help "keep the plugin recorded in trellis.lock, or add `recreate #true` to the cluster to remove and re-create it";
    NO_POOL_FOR_OS "TR0708" "no-pool-for-os" Error
        "a workload for an OS the cluster has no nodes of"
        help "add a node pool of that OS to the cluster, or run the workload on the OS its image needs";
}

/// Looks a code up by its code ("TR0201", case-insensitive) or its name ("unknown-node").
pub fn lookup(key: &str) -> Option<&'static Code> {
    let key = key.trim();
    ALL.iter()
        .copied()
        .find(|c| c.code.eq_ignore_ascii_case(key) || c.name.eq_ignore_ascii_case(key))
}
