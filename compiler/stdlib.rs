//! The standard library shipped inside the binary: KDL data and templates from
//! `stdlib/`, embedded with `include_str!` so the binary is self-contained.
//!
//! `akshci.kdl` holds platform facts (VM sizes) that checks compare declarations
//! with. It is parsed once, on first use. It never comes from the user, so a
//! malformed file is a bug in trellis, caught by this module's tests.

use std::sync::OnceLock;

use kdl::KdlDocument;

/// The policy presets, written in the trellis language.
pub const PRESETS_KDL: &str = include_str!("../stdlib/presets.kdl");

/// The embedded platform facts, as text.
pub const AKSHCI_KDL: &str = include_str!("../stdlib/akshci.kdl");

/// One VM size that AksHci offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSize {
    pub name: String,
    pub vcpu: u32,
    pub memory_gb: u32,
    pub gpus: u32,
    /// Documented as for tests and low-resource use only.
    pub test_only: bool,
}

#[derive(Debug, Default)]
pub struct Platform {
    pub vm_sizes: Vec<VmSize>,
}

impl Platform {
    /// Looks a VM size up, ignoring case as AksHci does.
    pub fn vm_size(&self, name: &str) -> Option<&VmSize> {
        self.vm_sizes
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

/// The platform facts, parsed from the embedded `akshci.kdl`.
pub fn platform() -> &'static Platform {
    static PLATFORM: OnceLock<Platform> = OnceLock::new();
    PLATFORM.get_or_init(|| parse_platform(AKSHCI_KDL).unwrap_or_default())
}

/// Parses platform facts; `None` when the text is malformed.
pub fn parse_platform(text: &str) -> Option<Platform> {
    let doc = KdlDocument::parse_v2(text).ok()?;
    let mut platform = Platform::default();
    for node in doc.get("vm-sizes")?.iter_children() {
        if node.name().value() != "size" {
            return None;
        }
        let int = |key: &str| -> Option<u32> {
            match node.get(key) {
                Some(v) => u32::try_from(v.as_integer()?).ok(),
                None => Some(0),
            }
        };
        platform.vm_sizes.push(VmSize {
            name: node.get(0)?.as_string()?.to_string(),
            vcpu: int("vcpu")?,
            memory_gb: int("memory-gb")?,
            gpus: int("gpus")?,
            test_only: node
                .get("test-only")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        });
    }
    Some(platform)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_the_schema_list() {
        let doc = KdlDocument::parse_v2(PRESETS_KDL);
        assert!(doc.is_ok(), "stdlib/presets.kdl is not valid KDL");
        let names: Vec<String> = doc
            .iter()
            .flat_map(|d| d.nodes())
            .filter_map(|n| n.get(0).and_then(|v| v.as_string()).map(str::to_string))
            .collect();
        let listed: Vec<String> = crate::lower::schema::PRESET_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, listed);
    }

    #[test]
    fn embedded_platform_parses_completely() {
        let parsed = parse_platform(AKSHCI_KDL);
        assert!(parsed.is_some(), "stdlib/akshci.kdl is malformed");
        let platform = platform();
        assert_eq!(platform.vm_sizes.len(), 18);
        assert!(platform.vm_size("standard_a4_V2").is_some());
        assert!(platform
            .vm_sizes
            .iter()
            .all(|s| s.vcpu > 0 && s.memory_gb > 0));
        assert_eq!(platform.vm_size("Standard_NK12").map(|s| s.gpus), Some(2));
        assert_eq!(
            platform.vm_size("Standard_K8S_v1").map(|s| s.test_only),
            Some(true)
        );
    }
}
