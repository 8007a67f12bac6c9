//! The YAML writer (`trellis::emit::yaml`) on arbitrary strings, with
//! `serde-saphyr` as the reference reader and a second opinion on quoting:
//!
//! - every string, as a value and as a key, reads back as exactly that string;
//! - whatever `serde-saphyr`'s own serializer quotes (it knows the YAML 1.1
//!   scalars the Kubernetes tool chain still resolves), trellis quotes too;
//! - a document of nested mappings and sequences reads back as the same tree.
//!
//! The example snapshots (`tests/examples.rs`) did not change by a byte when the
//! writer replaced `serde-saphyr`'s serializer.

use std::collections::BTreeMap;

use proptest::prelude::*;
use trellis::emit::yaml::{plain, to_document};

/// Strings built from the pieces YAML treats specially, and any characters.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("-".to_string()),
        Just("? ".to_string()),
        Just(": ".to_string()),
        Just(":".to_string()),
        Just(" #".to_string()),
        Just("#".to_string()),
        Just("---".to_string()),
        Just("...".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just(" ".to_string()),
        Just("&a".to_string()),
        Just("*a".to_string()),
        Just("!!str".to_string()),
        Just("{".to_string()),
        Just("[".to_string()),
        Just("|".to_string()),
        Just(">".to_string()),
        Just("%".to_string()),
        Just("@".to_string()),
        Just("`".to_string()),
        Just("0x1F".to_string()),
        Just("0o17".to_string()),
        Just("0b101".to_string()),
        Just("010".to_string()),
        Just("1_000".to_string()),
        Just("1e3".to_string()),
        Just(".5".to_string()),
        Just(".inf".to_string()),
        Just(".NaN".to_string()),
        Just("10:20".to_string()),
        Just("2024-01-02".to_string()),
        Just("2001-12-14t21:59:43.10-05:00".to_string()),
        Just("yes".to_string()),
        Just("No".to_string()),
        Just("on".to_string()),
        Just("OFF".to_string()),
        Just("y".to_string()),
        Just("~".to_string()),
        Just("null".to_string()),
        Just("True".to_string()),
        Just("<<".to_string()),
        Just("=".to_string()),
        Just("10.0.0.1".to_string()),
        Just("fd00::1".to_string()),
        Just("\u{85}".to_string()),
        Just("\u{2028}".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{feff}".to_string()),
        Just("\u{0}".to_string()),
        Just("é".to_string()),
        "[a-z0-9]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|pieces| pieces.concat())
}

fn read_back(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("does not parse: {e}\n{text}"))
}

fn quoted_by_saphyr(s: &str) -> bool {
    let reference = serde_saphyr::to_string(&s).expect("serde-saphyr writes any string");
    let first = reference.trim_start().chars().next();
    // Quoted, or a block scalar (`|`, `>`) for text with line breaks.
    matches!(first, Some('"' | '\'' | '|' | '>'))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn strings_read_back_as_themselves(s in yamlish()) {
        let mut doc = BTreeMap::new();
        doc.insert("value".to_string(), s.clone());
        doc.insert(s.clone(), "key".to_string());
        let text = to_document(&doc);
        let back = read_back(&text);
        prop_assert_eq!(back["value"].as_str(), Some(s.as_str()), "{}", text);
        prop_assert_eq!(back[s.as_str()].as_str(), Some("key"), "{}", text);
    }

    #[test]
    fn what_serde_saphyr_quotes_is_quoted(s in yamlish()) {
        if quoted_by_saphyr(&s) {
            prop_assert!(!plain(&s, false), "{:?} written plain", s);
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
struct Tree {
    name: String,
    labels: BTreeMap<String, String>,
    children: Vec<Tree>,
    ports: Vec<u16>,
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = (
        yamlish(),
        prop::collection::btree_map(yamlish(), yamlish(), 0..3),
        prop::collection::vec(any::<u16>(), 0..3),
    )
        .prop_map(|(name, labels, ports)| Tree {
            name,
            labels,
            children: Vec::new(),
            ports,
        });
    leaf.prop_recursive(3, 12, 3, |inner| {
        (
            yamlish(),
            prop::collection::btree_map(yamlish(), yamlish(), 0..3),
            prop::collection::vec(inner, 0..3),
            prop::collection::vec(any::<u16>(), 0..3),
        )
            .prop_map(|(name, labels, children, ports)| Tree {
                name,
                labels,
                children,
                ports,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn nested_documents_read_back_as_the_same_tree(t in tree()) {
        let text = to_document(&t);
        let want = serde_json::to_value(&t).expect("json");
        prop_assert_eq!(read_back(&text), want, "{}", text);
    }
}
