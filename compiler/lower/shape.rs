//! Shape checking: a KDL node against its `NodeSpec`, giving an `Item` (a node whose
//! arguments and properties are typed `Value`s) and diagnostics for everything that
//! does not fit: unknown nodes and properties (with "did you mean"), missing or extra
//! arguments, repeated settings, missing required settings, malformed values.
//!
//! An `Item` keeps only the values that were valid; `complete` says whether every
//! required part was present and valid, so lowering knows when it can build a model
//! object and when it must only record the declared name.

use crate::parse::tree::{At, Entry, Node};

use super::schema::{ChildSpec, NodeSpec, Ty};
use super::value::{check_text, lower_value, validate_label_key, Value, ValueSite};
use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::source::{FileId, Sources, Span, Spanned};
use crate::suggest::did_you_mean;

#[derive(Debug, Clone)]
pub struct Prop {
    pub key: Spanned<String>,
    pub value: Spanned<Value>,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub spec: &'static NodeSpec,
    /// The node's name (`network`, `port`), used as the span of node-level messages.
    pub name_span: Span,
    /// The whole node, children included.
    pub span: Span,
    pub args: Vec<Spanned<Value>>,
    pub props: Vec<Prop>,
    pub children: Vec<Item>,
    /// Every required argument, property and child was present and valid.
    pub complete: bool,
}

impl Item {
    pub fn arg(&self, idx: usize) -> Option<&Spanned<Value>> {
        self.args.get(idx)
    }

    pub fn arg_str(&self, idx: usize) -> Option<Spanned<String>> {
        let v = self.args.get(idx)?;
        Some(Spanned::new(v.value.as_str()?.to_string(), v.span))
    }

    pub fn prop(&self, name: &str) -> Option<&Spanned<Value>> {
        self.props
            .iter()
            .find(|p| p.key.value == name)
            .map(|p| &p.value)
    }

    pub fn prop_str(&self, name: &str) -> Option<Spanned<String>> {
        let v = self.prop(name)?;
        Some(Spanned::new(v.value.as_str()?.to_string(), v.span))
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
        self.children.iter().filter(move |c| c.spec.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Item> {
        self.children.iter().find(|c| c.spec.name == name)
    }

    /// The single argument of a setting child: `switch "External"`.
    pub fn setting(&self, name: &str) -> Option<&Spanned<Value>> {
        self.child(name)?.args.first()
    }

    pub fn setting_str(&self, name: &str) -> Option<Spanned<String>> {
        let v = self.setting(name)?;
        Some(Spanned::new(v.value.as_str()?.to_string(), v.span))
    }
}

/// What an entry is, for messages: formatted only when one is written.
enum What<'a> {
    /// Argument `name` of node `node`.
    Argument(&'a str, &'a str),
    /// The single value of a node.
    ValueOf(&'a str),
    /// A free label property.
    Label(&'a str),
    /// Property `key` of node `node`.
    Property(&'a str, &'a str),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Argument(name, node) => write!(f, "argument `{name}` of `{node}`"),
            What::ValueOf(node) => write!(f, "the value of `{node}`"),
            What::Label(key) => write!(f, "label `{key}`"),
            What::Property(key, node) => write!(f, "property `{key}` of `{node}`"),
        }
    }
}

/// Context shared by the shape checks of one file.
pub struct ShapeCx<'a> {
    pub file: FileId,
    pub sources: &'a Sources,
    pub diags: &'a mut Diagnostics,
}

impl ShapeCx<'_> {
    fn span(&self, at: At) -> Span {
        Span::from_at(self.file, at)
    }

    /// Checks `node` against `spec`. `parent` names the enclosing node for messages.
    pub fn shape(&mut self, node: &Node, spec: &'static NodeSpec) -> Item {
        let name_span = self.span(node.name.at);
        let mut item = Item {
            spec,
            name_span,
            span: self.span(node.at),
            args: Vec::new(),
            props: Vec::new(),
            children: Vec::new(),
            complete: true,
        };
        if let Some(ty) = &node.ty {
            self.diags.push(
                Diagnostic::new(
                    &codes::TYPE_ANNOTATION_MISMATCH,
                    self.span(ty.at),
                    format!(
                        "type annotation `({})` on node `{}` has no meaning",
                        ty.value, spec.name
                    ),
                )
                .label("this annotation")
                .help("remove the annotation; only values take type annotations"),
            );
        }
        self.shape_entries(node, spec, &mut item);
        self.shape_children(node, spec, &mut item);
        item
    }

    fn shape_entries(&mut self, node: &Node, spec: &'static NodeSpec, item: &mut Item) {
        let mut n_args = 0usize;
        let max_args = spec.args.len() + spec.rest.as_ref().map_or(0, |r| r.max);
        for entry in &node.entries {
            match &entry.name {
                None => {
                    let idx = n_args;
                    n_args += 1;
                    let (ty, what) = if let Some(a) = spec.args.get(idx) {
                        (a.ty, What::Argument(a.name, spec.name))
                    } else if let (Some(rest), true) = (&spec.rest, idx < max_args) {
                        let what = if rest.max == 1 && spec.args.is_empty() {
                            What::ValueOf(spec.name)
                        } else {
                            What::Argument(rest.name, spec.name)
                        };
                        (rest.ty, what)
                    } else {
                        let span = self.value_span(entry);
                        let accepted = match max_args {
                            0 => "no arguments".to_string(),
                            1 => "one argument".to_string(),
                            n => format!("at most {n} arguments"),
                        };
                        self.diags.push(
                            Diagnostic::new(
                                &codes::UNEXPECTED_ARGUMENT,
                                span,
                                format!("`{}` takes {accepted}", spec.name),
                            )
                            .label("unexpected argument")
                            .help(unexpected_argument_help(spec)),
                        );
                        item.complete = false;
                        continue;
                    };
                    match self.lower_entry(entry, ty, &what) {
                        Some(v) => item.args.push(v),
                        None => item.complete = false,
                    }
                }
                Some(key) => {
                    let key_name: &str = &key.value;
                    let key_span = self.span(key.at);
                    let key_span = if key_span.is_empty() {
                        self.span(entry.at)
                    } else {
                        key_span
                    };
                    if let Some(prev) = item.props.iter().find(|p| p.key.value == key_name) {
                        self.diags.push(
                            Diagnostic::new(
                                &codes::REPEATED_SETTING,
                                key_span,
                                format!("property `{key_name}` is given twice on `{}`", spec.name),
                            )
                            .label("given again here")
                            .related(prev.key.span, "first given here"),
                        );
                        item.complete = false;
                        continue;
                    }
                    let ty = if let Some(p) = spec.prop(key_name) {
                        p.ty
                    } else if let Some(ty) = spec.free_props {
                        if !check_text(key_name, key_span, &"label key", self.diags) {
                            item.complete = false;
                            continue;
                        }
                        if let Err(why) = validate_label_key(key_name) {
                            self.diags.push(
                                Diagnostic::new(
                                    &codes::INVALID_LABEL,
                                    key_span,
                                    format!("`{key_name}` is not a valid label key: {why}"),
                                )
                                .label("invalid label key"),
                            );
                            item.complete = false;
                            continue;
                        }
                        ty
                    } else {
                        self.unknown_property(spec, key_name, key_span);
                        item.complete = false;
                        continue;
                    };
                    let what = if spec.free_props.is_some() && spec.prop(key_name).is_none() {
                        What::Label(key_name)
                    } else {
                        What::Property(key_name, spec.name)
                    };
                    match self.lower_entry(entry, ty, &what) {
                        Some(value) => item.props.push(Prop {
                            key: Spanned::new(key_name.to_string(), key_span),
                            value,
                        }),
                        None => item.complete = false,
                    }
                }
            }
        }
        let min_args = spec.args.len() + spec.rest.as_ref().map_or(0, |r| r.min);
        if n_args < min_args {
            let missing = spec
                .args
                .get(n_args)
                .map(|a| (a.name, a.ty))
                .or_else(|| spec.rest.as_ref().map(|r| (r.name, r.ty)));
            if let Some((name, ty)) = missing {
                self.diags.push(
                    Diagnostic::new(
                        &codes::MISSING_ARGUMENT,
                        item.name_span,
                        format!("`{}` is missing its argument `{name}`", spec.name),
                    )
                    .label(format!("expects {} here", ty.describe()))
                    .help(format!(
                        "add {} after `{}`",
                        ty.describe(),
                        spec.name
                    )),
                );
            }
            item.complete = false;
        }
        for p in spec.props.iter().filter(|p| p.required) {
            if item.prop(p.name).is_none()
                && !node
                    .entries
                    .iter()
                    .any(|e| e.name.as_ref().map(|n| n.value.as_ref()) == Some(p.name))
            {
                self.diags.push(
                    Diagnostic::new(
                        &codes::MISSING_PROPERTY,
                        item.name_span,
                        format!("`{}` is missing the property `{}`", spec.name, p.name),
                    )
                    .label(format!("needs {}=…", p.name))
                    .help(format!("add {}=… ({})", p.name, p.doc)),
                );
                item.complete = false;
            }
        }
    }

    fn shape_children(&mut self, node: &Node, spec: &'static NodeSpec, item: &mut Item) {
        // Unknown children and properties: a misspelt required setting is reported
        // once, as unknown, and not a second time as missing.
        let mut misplaced: Vec<&str> = node
            .entries
            .iter()
            .filter_map(|e| e.name.as_ref().map(|n| n.value.as_ref()))
            .filter(|k| spec.prop(k).is_none() && spec.free_props.is_none())
            .collect();
        for child in node.children() {
            let name: &str = &child.name.value;
            let Some(child_spec) = spec.child(name) else {
                misplaced.push(name);
                let candidates = spec.children.iter().map(|c| c.node.name);
                self.unknown_node(name, self.span(child.name.at), Some(spec), candidates);
                item.complete = false;
                continue;
            };
            if !child_spec.occurs.repeats() {
                if let Some(prev) = item.children.iter().find(|c| c.spec.name == name) {
                    self.diags.push(
                        Diagnostic::new(
                            &codes::REPEATED_SETTING,
                            self.span(child.name.at),
                            format!("`{name}` is set twice in `{}`", spec.name),
                        )
                        .label("set again here")
                        .related(prev.name_span, "first set here"),
                    );
                    item.complete = false;
                    continue;
                }
            }
            let child_item = self.shape(child, child_spec.node);
            // A broken child, even an optional one, leaves the declaration out of the
            // model: lowering it with a default in place of the broken value would
            // only produce follow-on errors about a value the user never wrote.
            if !child_item.complete {
                item.complete = false;
            }
            item.children.push(child_item);
        }
        for ChildSpec {
            node: child,
            occurs,
        } in spec.children
        {
            let misspelt = misplaced
                .iter()
                .any(|m| *m == child.name || did_you_mean(m, [child.name]).is_some());
            if occurs.required()
                && !misspelt
                && item.child(child.name).is_none()
                && !node.children().iter().any(|c| c.name.value == child.name)
            {
                let example = example_of(child);
                self.diags.push(
                    Diagnostic::new(
                        &codes::MISSING_SETTING,
                        item.name_span,
                        format!("`{}` has no `{}`", spec.name, child.name),
                    )
                    .label(format!("needs `{}`", child.name))
                    .help(format!(
                        "add `{example}` inside the `{{ }}` of `{}`: {}",
                        spec.name,
                        lower_first(child.doc)
                    )),
                );
                item.complete = false;
            }
        }
    }

    fn lower_entry(&mut self, entry: &Entry, ty: Ty, what: &What) -> Option<Spanned<Value>> {
        let span = self.value_span(entry);
        let annotation = entry
            .ty
            .as_ref()
            .map(|t| (t.value.as_ref(), self.span(t.at)));
        lower_value(
            ty,
            &entry.value,
            &ValueSite {
                what,
                span,
                annotation,
            },
            self.diags,
        )
    }

    /// The span of an entry's value alone: without `key=` and without a `(type)`.
    fn value_span(&self, entry: &Entry) -> Span {
        let full = self.span(entry.at);
        let text = self.sources.slice(full);
        let mut start = 0usize;
        if entry.name.is_some() {
            if let Some(eq) = text.find('=') {
                start = eq + 1;
            }
        }
        if entry.ty.is_some() {
            if let Some(close) = text.get(start..).and_then(|t| t.find(')')) {
                start += close + 1;
            }
        }
        let rest = text.get(start..).unwrap_or("");
        start += rest.len() - rest.trim_start().len();
        Span::new(full.file, full.start as usize + start, full.end as usize)
    }

    fn unknown_property(&mut self, spec: &NodeSpec, key: &str, span: Span) {
        let names: Vec<&str> = spec.props.iter().map(|p| p.name).collect();
        let mut diag = Diagnostic::new(
            &codes::UNKNOWN_PROPERTY,
            span,
            format!("`{}` has no property `{key}`", spec.name),
        )
        .label("unknown property");
        if let Some(best) = did_you_mean(key, names.iter().copied()) {
            diag = diag.help(format!("did you mean `{best}`?"));
        } else if names.is_empty() {
            let as_child = spec.child(key).is_some();
            diag = diag.help(if as_child {
                format!(
                    "`{key}` is a setting: write it as a child node, `{} {{ {key} … }}`",
                    spec.name
                )
            } else {
                format!("`{}` takes no properties", spec.name)
            });
        } else {
            diag = diag.help(format!("`{}` accepts {}", spec.name, backtick_list(&names)));
        }
        if names.is_empty() && spec.child(key).is_some() {
            diag = diag.help(format!(
                "`{key}` is a setting: write it as a child node, `{} {{ {key} … }}`",
                spec.name
            ));
        }
        self.diags.push(diag);
    }

    /// Reports a node not allowed where it is. `parent` is `None` at the top level.
    pub fn unknown_node<'c>(
        &mut self,
        name: &str,
        span: Span,
        parent: Option<&NodeSpec>,
        candidates: impl Iterator<Item = &'c str>,
    ) {
        let candidates: Vec<&str> = candidates.collect();
        let place = match parent {
            Some(p) => format!("inside `{}`", p.name),
            None => "at the top level".to_string(),
        };
        let mut diag = Diagnostic::new(
            &codes::UNKNOWN_NODE,
            span,
            format!("unknown node `{name}` {place}"),
        )
        .label("unknown node");
        let as_prop = parent.and_then(|p| p.prop(name));
        if let Some(best) = did_you_mean(name, candidates.iter().copied()) {
            diag = diag.help(format!("did you mean `{best}`?"));
        } else if let (Some(p), Some(_)) = (parent, as_prop) {
            diag = diag.help(format!(
                "`{name}` is a property: write `{} {name}=…`",
                p.name
            ));
        } else if candidates.is_empty() {
            diag = diag.help(format!(
                "`{}` takes no children; remove the `{{ }}` block",
                parent.map_or("", |p| p.name)
            ));
        } else {
            diag = diag.help(format!(
                "{place} the language allows {}",
                backtick_list(&candidates)
            ));
        }
        self.diags.push(diag);
    }
}

fn unexpected_argument_help(spec: &NodeSpec) -> String {
    let mut usage = vec![spec.name.to_string()];
    usage.extend(spec.args.iter().map(|a| format!("<{}>", a.name)));
    if let Some(rest) = &spec.rest {
        usage.extend((0..rest.max.min(3)).map(|_| format!("<{}>", rest.name)));
        if rest.max > 3 {
            usage.push("…".into());
        }
    }
    if spec.args.is_empty() && spec.rest.is_none() && !spec.props.is_empty() {
        return format!(
            "`{}` takes properties only, e.g. `{}`",
            spec.name,
            example_of(spec)
        );
    }
    format!("remove the extra argument; usage: `{}`", usage.join(" "))
}

/// A one-line example of a node, for help text.
fn example_of(spec: &NodeSpec) -> String {
    let mut out = spec.name.to_string();
    for a in spec.args {
        out.push_str(&format!(" <{}>", a.name));
    }
    if let Some(rest) = &spec.rest {
        for _ in 0..rest.min.max(1) {
            out.push_str(&format!(" <{}>", rest.name));
        }
    }
    for p in spec.props.iter().filter(|p| p.required) {
        out.push_str(&format!(" {}=…", p.name));
    }
    if spec.args.is_empty() && spec.rest.is_none() && !spec.props.iter().any(|p| p.required) {
        if let Some(p) = spec.props.first() {
            out.push_str(&format!(" {}=…", p.name));
        }
    }
    out
}

fn backtick_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c
            .to_lowercase()
            .chain(chars)
            .collect::<String>()
            .trim_end_matches('.')
            .to_string(),
        None => String::new(),
    }
}
