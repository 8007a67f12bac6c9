//! Query helpers over the model that several stages need: workloads by label, so
//! selector matching is near-linear however many workloads a namespace has.

use foldhash::{HashMap, HashMapExt};

use super::{Labels, Model, Service, Workload};

/// True when `selector` selects `labels` (see `Labels::selects`).
pub fn selects(selector: &Labels, labels: &Labels) -> bool {
    selector.selects(|k| labels.get(k))
}

/// Workloads by (cluster, namespace, label key, label value). The lookups bucket by
/// a selector's first `key=value`; they serve the checks of trellis projects, whose
/// selectors have no set-based requirements (those come only from manifests, which
/// the engine matches with `selects`).
pub struct WorkloadIndex<'m> {
    by_label: HashMap<(&'m str, &'m str, &'m str, &'m str), Vec<&'m Workload>>,
    /// Workloads by (cluster, label key, label value), for the other-namespace hint.
    by_cluster_label: HashMap<(&'m str, &'m str, &'m str), Vec<&'m Workload>>,
}

impl<'m> WorkloadIndex<'m> {
    pub fn new(model: &'m Model) -> WorkloadIndex<'m> {
        // Sized up front: most workloads have a label or two, and growing a table
        // of tens of thousands of entries touched fresh memory at every step.
        let labels = model.workloads.iter().map(|w| w.labels.items.len()).sum();
        let mut by_label: HashMap<_, Vec<&Workload>> = HashMap::with_capacity(labels);
        let mut by_cluster_label: HashMap<_, Vec<&Workload>> = HashMap::with_capacity(labels);
        for w in &model.workloads {
            for l in &w.labels.items {
                let (k, v) = (l.key.value.as_str(), l.value.value.as_str());
                by_label
                    .entry((w.cluster.value.as_str(), w.namespace.value.as_str(), k, v))
                    .or_default()
                    .push(w);
                by_cluster_label
                    .entry((w.cluster.value.as_str(), k, v))
                    .or_default()
                    .push(w);
            }
        }
        WorkloadIndex {
            by_label,
            by_cluster_label,
        }
    }

    /// The workloads of a service's namespace that its selector selects.
    pub fn selected(&self, service: &Service, selector: &Labels) -> Vec<&'m Workload> {
        self.select(&service.cluster.value, &service.namespace.value, selector)
    }

    /// The workloads of `namespace` in `cluster` whose labels include `selector`'s;
    /// none for an empty selector.
    pub fn select(&self, cluster: &str, namespace: &str, selector: &Labels) -> Vec<&'m Workload> {
        let Some(first) = selector.items.first() else {
            return Vec::new();
        };
        let key = (
            cluster,
            namespace,
            first.key.value.as_str(),
            first.value.value.as_str(),
        );
        self.by_label
            .get(&key)
            .map(|ws| {
                ws.iter()
                    .copied()
                    .filter(|w| selects(selector, &w.labels))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether any workload of `cluster` (of `namespace`, when given) has every label of
    /// a non-empty `selector`; false for an empty one.
    pub fn any(&self, cluster: &str, namespace: Option<&str>, selector: &Labels) -> bool {
        let Some(first) = selector.items.first() else {
            return false;
        };
        let (k, v) = (first.key.value.as_str(), first.value.value.as_str());
        let bucket = match namespace {
            Some(ns) => self.by_label.get(&(cluster, ns, k, v)),
            None => self.by_cluster_label.get(&(cluster, k, v)),
        };
        bucket.is_some_and(|ws| ws.iter().any(|w| selects(selector, &w.labels)))
    }

    /// A workload of another namespace of the cluster that the selector would match.
    pub fn elsewhere(&self, service: &Service, selector: &Labels) -> Option<&'m Workload> {
        let first = selector.items.first()?;
        let key = (
            service.cluster.value.as_str(),
            first.key.value.as_str(),
            first.value.value.as_str(),
        );
        self.by_cluster_label
            .get(&key)?
            .iter()
            .copied()
            .find(|w| w.namespace.value != service.namespace.value && selects(selector, &w.labels))
    }
}
