//! YAML text to a tree of located nodes: the one place that knows the YAML
//! parser. Everything after it reads `Node`s, so every problem can be reported
//! at its line and column, and all of them in one run.
//!
//! granit-parser (the event parser under serde-saphyr) produces the events and
//! this module builds the tree from them. Going through serde instead — a
//! `Spanned` wrapper around every node — cost more than all the rest of a plan
//! (BENCHMARKS.md). The tree follows the YAML 1.2 core schema (only `true` and
//! `false` are booleans), refuses duplicate keys at their place, expands
//! aliases and `<<` merge keys within a budget, and bounds nesting.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use serde_saphyr::granit_parser::{
    ErrorKind, Event, Marker, Options, Parser, ScalarStyle, ScanError, Span, Tag,
};

/// Where a node starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl Position {
    fn of(marker: &Marker) -> Self {
        Position { line: marker.line() as u64, column: marker.col() as u64 + 1 }
    }
}

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub position: Position,
}

/// A YAML value. Scalars are typed by the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Sequence(Vec<Node>),
    /// Entries in document order; keys are unique (duplicates are refused).
    Mapping(Vec<(Node, Node)>),
}

impl Value {
    /// How a problem report names this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Integer(_) => "an integer",
            // Decimal integers beyond 64 bits are kept as floats (see `integer`).
            Value::Float(number) if number.is_finite() && number.abs() >= 9.2e18 => {
                "an integer too large for 64 bits"
            }
            Value::Float(_) => "a number with a fraction",
            Value::String(_) => "a string",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }
}

/// Why a text is not YAML we can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.position.line, self.position.column, self.message)
    }
}

/// How deep a document may nest. A desired-state file needs 8 levels; the
/// bound keeps a hostile file from exhausting memory or the stack of later
/// readers.
pub const MAX_DEPTH: usize = 24;

/// How many nodes aliases may copy in all. Desired-state files have little use
/// for aliases: this is plenty, and a "billion laughs" stops early.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// How many nodes a document may hold, aliases included. A tenant of 100,000
/// principals with a few values each needs under two million.
pub const MAX_NODES: usize = 50_000_000;

/// Parses one YAML document. An empty document is `Value::Null` at 1:1.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    let mut options = Options::default();
    options.flow_nesting_limit = MAX_DEPTH;
    options.block_nesting_limit = MAX_DEPTH;
    for event in Parser::new_from_str_with_options(text, options) {
        let (event, span) = event.map_err(scan_error)?;
        builder.take(event, &span)?;
    }
    Ok(builder.root.unwrap_or(Node { value: Value::Null, position: Position { line: 1, column: 1 } }))
}

fn scan_error(error: ScanError) -> SyntaxError {
    let message = match error.kind() {
        ErrorKind::RecursionLimitExceeded => too_deep(),
        _ => error.info(),
    };
    SyntaxError { position: Position::of(error.marker()), message }
}

fn too_deep() -> String {
    format!("the document nests more than {MAX_DEPTH} levels deep (a desired-state file needs 8)")
}

fn refuse<T>(position: Position, message: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError { position, message: message.into() })
}

/// A collection whose end has not been read yet.
enum Open {
    Sequence { items: Vec<Node>, position: Position, anchor: usize },
    Mapping(OpenMapping),
}

struct OpenMapping {
    entries: Vec<(Node, Node)>,
    /// The key read, waiting for its value; `true` when it is a merge key.
    key: Option<(Node, bool)>,
    /// The values of `<<` keys, merged in when the mapping ends.
    merges: Vec<Node>,
    position: Position,
    anchor: usize,
}

/// Builds the tree from parser events, checking as it goes.
#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    /// Anchored nodes by anchor id, with how many nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    nodes: usize,
    documents: usize,
    root: Option<Node>,
}

impl Builder {
    /// Takes one event.
    fn take(&mut self, event: Event<'_>, span: &Span) -> Result<(), SyntaxError> {
        let position = Position::of(&span.start);
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return refuse(
                        position,
                        "the file holds more than one YAML document; give each its own file",
                    );
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, position)?;
                let value = scalar(&text, style, tag.as_deref(), position)?;
                let merge_key = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                let node = Node { value, position };
                if anchor != 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.add(node, merge_key)?;
            }
            Event::Alias(anchor) => {
                let Some((node, size)) = self.anchors.get(&anchor) else {
                    return refuse(position, "an alias names an anchor that is not defined before it");
                };
                let (mut node, size) = (node.clone(), *size);
                self.alias_nodes += size;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return refuse(
                        position,
                        format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} nodes; write the values out instead"
                        ),
                    );
                }
                self.count(size, position)?;
                node.position = position;
                self.add(node, false)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.open_collection(position, tag.as_deref(), "seq")?;
                self.open.push(Open::Sequence { items: Vec::new(), position, anchor });
            }
            Event::MappingStart(_, anchor, tag) => {
                self.open_collection(position, tag.as_deref(), "map")?;
                self.open.push(Open::Mapping(OpenMapping {
                    entries: Vec::new(),
                    key: None,
                    merges: Vec::new(),
                    position,
                    anchor,
                }));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.open.pop() {
                    Some(Open::Sequence { items, position, anchor }) => {
                        (Node { value: Value::Sequence(items), position }, anchor)
                    }
                    Some(Open::Mapping(mapping)) => {
                        let anchor = mapping.anchor;
                        (mapping.finish()?, anchor)
                    }
                    None => return refuse(position, "a collection ends that never started"),
                };
                if anchor != 0 {
                    let size = size(&node);
                    self.anchors.insert(anchor, (node.clone(), size));
                }
                self.add(node, false)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn count(&mut self, nodes: usize, position: Position) -> Result<(), SyntaxError> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return refuse(position, format!("the document holds more than {MAX_NODES} nodes"));
        }
        Ok(())
    }

    fn open_collection(
        &mut self,
        position: Position,
        tag: Option<&Tag>,
        core: &str,
    ) -> Result<(), SyntaxError> {
        self.count(1, position)?;
        if self.open.len() >= MAX_DEPTH {
            return refuse(position, too_deep());
        }
        match tag {
            Some(tag) if !(is_core(tag) && tag.suffix() == core) => {
                refuse(position, format!("unsupported tag `{}` on a collection", show(tag)))
            }
            _ => Ok(()),
        }
    }

    /// Puts a finished node where it belongs: into the open collection, or as the root.
    fn add(&mut self, node: Node, merge_key: bool) -> Result<(), SyntaxError> {
        match self.open.last_mut() {
            None => self.root = Some(node),
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping(mapping)) => match mapping.key.take() {
                None => mapping.key = Some((node, merge_key)),
                Some((_, true)) => mapping.merge(node)?,
                Some((key, false)) => mapping.entries.push((key, node)),
            },
        }
        Ok(())
    }
}

impl OpenMapping {
    fn merge(&mut self, value: Node) -> Result<(), SyntaxError> {
        match value.value {
            Value::Mapping(_) => self.merges.push(value),
            Value::Sequence(items) if items.iter().all(|item| matches!(item.value, Value::Mapping(_))) => {
                self.merges.extend(items);
            }
            _ => {
                return refuse(value.position, "a merge key `<<` takes a mapping or a list of mappings");
            }
        }
        Ok(())
    }

    /// The mapping, its duplicate keys refused and its merge keys expanded:
    /// keys written in the mapping win, then earlier merged mappings.
    fn finish(mut self) -> Result<Node, SyntaxError> {
        refuse_duplicates(&self.entries)?;
        for merged in std::mem::take(&mut self.merges) {
            let Value::Mapping(entries) = merged.value else { continue };
            for (key, value) in entries {
                let identity = KeyIdentity::of(&key);
                if !self.entries.iter().any(|(existing, _)| KeyIdentity::of(existing) == identity) {
                    self.entries.push((key, value));
                }
            }
        }
        self.entries.shrink_to_fit();
        Ok(Node { value: Value::Mapping(self.entries), position: self.position })
    }
}

/// Refuses the first key (in document order) written twice in one mapping.
fn refuse_duplicates(entries: &[(Node, Node)]) -> Result<(), SyntaxError> {
    // (the first place a key is given, the place it is given again)
    let mut duplicates: Vec<(&Node, &Node)> = Vec::new();
    if entries.len() <= 16 {
        for (index, (key, _)) in entries.iter().enumerate() {
            let identity = KeyIdentity::of(key);
            if let Some((first, _)) =
                entries[..index].iter().find(|(earlier, _)| KeyIdentity::of(earlier) == identity)
            {
                duplicates.push((first, key));
            }
        }
    } else {
        let mut seen: HashMap<KeyIdentity<'_>, &Node> = HashMap::with_capacity(entries.len());
        for (key, _) in entries {
            match seen.entry(KeyIdentity::of(key)) {
                Entry::Occupied(first) => duplicates.push((first.get(), key)),
                Entry::Vacant(slot) => {
                    slot.insert(key);
                }
            }
        }
    }
    match duplicates.into_iter().min_by_key(|(_, again)| again.position) {
        Some((first, again)) => refuse(
            again.position,
            format!(
                "duplicate key {}; it is first given at line {}, column {}",
                describe_key(&again.value),
                first.position.line,
                first.position.column
            ),
        ),
        None => Ok(()),
    }
}

/// What makes two mapping keys the same, for duplicates and merge keys alike,
/// in mappings of any size. Floats are the same when their bits are (so
/// `.nan` twice is a duplicate, `0.0` and `-0.0` are not); collection keys
/// (which a desired-state file never uses) are told apart by position.
#[derive(PartialEq, Eq, Hash)]
enum KeyIdentity<'a> {
    Null,
    Bool(bool),
    Integer(i64),
    Float(u64),
    String(&'a str),
    Collection(Position),
}

impl<'a> KeyIdentity<'a> {
    fn of(node: &'a Node) -> Self {
        match &node.value {
            Value::Null => KeyIdentity::Null,
            Value::Bool(value) => KeyIdentity::Bool(*value),
            Value::Integer(value) => KeyIdentity::Integer(*value),
            Value::Float(value) => KeyIdentity::Float(value.to_bits()),
            Value::String(value) => KeyIdentity::String(value),
            Value::Sequence(_) | Value::Mapping(_) => KeyIdentity::Collection(node.position),
        }
    }
}

fn describe_key(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`{text}`"),
        Value::Integer(number) => format!("`{number}`"),
        Value::Bool(flag) => format!("`{flag}`"),
        other => other.kind().to_owned(),
    }
}

/// How many nodes a tree holds.
fn size(node: &Node) -> usize {
    match &node.value {
        Value::Sequence(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Mapping(entries) => {
            1 + entries.iter().map(|(key, value)| size(key) + size(value)).sum::<usize>()
        }
        _ => 1,
    }
}

const CORE_TAGS: &str = "tag:yaml.org,2002:";

fn is_core(tag: &Tag) -> bool {
    tag.handle() == CORE_TAGS
}

fn show(tag: &Tag) -> String {
    if is_core(tag) { format!("!!{}", tag.suffix()) } else { format!("{}{}", tag.handle(), tag.suffix()) }
}

/// A scalar typed by its tag, or by the core schema when it is plain and untagged.
fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    position: Position,
) -> Result<Value, SyntaxError> {
    let Some(tag) = tag else {
        return Ok(match style {
            ScalarStyle::Plain => resolve_plain(text),
            _ => Value::String(text.to_owned()),
        });
    };
    let typed = match (is_core(tag), tag.suffix()) {
        // `!` alone: the non-specific tag of a quoted scalar — a string.
        (true, "str") | (false, "") => Some(Value::String(text.to_owned())),
        (true, "null") => matches!(text, "" | "~" | "null" | "Null" | "NULL").then_some(Value::Null),
        (true, "bool") => boolean(text).map(Value::Bool),
        (true, "int") => integer(text),
        (true, "float") => float(text).or_else(|| {
            integer(text).map(|value| match value {
                Value::Integer(number) => Value::Float(number as f64),
                other => other,
            })
        }),
        _ => return refuse(position, format!("unsupported tag `{}`", show(tag))),
    };
    match typed {
        Some(value) => Ok(value),
        None => refuse(position, format!("`{text}` is not a valid `{}` value", show(tag))),
    }
}

/// The YAML 1.2 core schema's reading of a plain scalar.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        _ => boolean(text)
            .map(Value::Bool)
            .or_else(|| integer(text))
            .or_else(|| float(text))
            .unwrap_or_else(|| Value::String(text.to_owned())),
    }
}

fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`. A decimal beyond 64 bits
/// is kept as a float, so that it is reported as out of range, not as text.
fn integer(text: &str) -> Option<Value> {
    if let Some(octal) = text.strip_prefix("0o") {
        return digits(octal, 8).then(|| i64::from_str_radix(octal, 8).ok()).flatten().map(Value::Integer);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return digits(hex, 16).then(|| i64::from_str_radix(hex, 16).ok()).flatten().map(Value::Integer);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits(unsigned, 10) {
        return None;
    }
    Some(text.parse().map(Value::Integer).unwrap_or_else(|_| Value::Float(text.parse().unwrap_or(f64::NAN))))
}

fn digits(text: &str, radix: u32) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_digit(radix))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?.inf`, `.nan`.
fn float(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    match unsigned {
        ".inf" | ".Inf" | ".INF" => {
            return Some(Value::Float(if negative { f64::NEG_INFINITY } else { f64::INFINITY }));
        }
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(index) => (&unsigned[..index], Some(&unsigned[index + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction, 10),
        Some((whole, fraction)) => digits(whole, 10) && (fraction.is_empty() || digits(fraction, 10)),
        None => digits(mantissa, 10),
    };
    let exponent_ok =
        exponent.is_none_or(|exponent| digits(exponent.strip_prefix(['-', '+']).unwrap_or(exponent), 10));
    (mantissa_ok && exponent_ok).then(|| text.parse().ok().map(Value::Float)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: &Node) -> (u64, u64) {
        (node.position.line, node.position.column)
    }

    #[test]
    fn nodes_carry_their_positions() {
        let root = parse("version: 1\nattributeSets:\n  Engineering:\n    description: x\n").unwrap();
        let Value::Mapping(entries) = &root.value else { panic!("{root:?}") };
        assert_eq!(entries.len(), 2);
        assert_eq!(at(&entries[0].0), (1, 1));
        assert_eq!(entries[0].1.value, Value::Integer(1));
        assert_eq!(at(&entries[1].0), (2, 1));
        let Value::Mapping(sets) = &entries[1].1.value else { panic!() };
        assert_eq!(at(&sets[0].0), (3, 3));
        let Value::Mapping(props) = &sets[0].1.value else { panic!() };
        assert_eq!(at(&props[0].1), (4, 18));
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let root = parse("[true, 12, -3, 1.5, text, null, '7', yes, y, NO]").unwrap();
        let Value::Sequence(items) = root.value else { panic!() };
        let values: Vec<Value> = items.into_iter().map(|n| n.value).collect();
        assert_eq!(values[0], Value::Bool(true));
        assert_eq!(values[1], Value::Integer(12));
        assert_eq!(values[2], Value::Integer(-3));
        assert_eq!(values[3], Value::Float(1.5));
        assert_eq!(values[4], Value::String("text".into()));
        assert_eq!(values[5], Value::Null);
        assert_eq!(values[6], Value::String("7".into()));
        assert_eq!(values[7], Value::String("yes".into()));
        assert_eq!(values[8], Value::String("y".into()));
        assert_eq!(values[9], Value::String("NO".into()));
    }

    #[test]
    fn duplicate_keys_are_refused_at_their_place() {
        let error = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.position.line, 3, "{error:?}");
        assert!(error.message.to_lowercase().contains("duplicate"), "{error:?}");
    }

    #[test]
    fn syntax_errors_have_a_place_and_a_bare_message() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.position.line >= 1);
        assert!(!error.message.starts_with("line "), "{error:?}");
    }

    #[test]
    fn deep_nesting_is_refused_before_the_stack_runs_out() {
        for depth in [MAX_DEPTH + 1, 1_000, 100_000] {
            let flow = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
            let error = parse(&flow).unwrap_err();
            assert!(error.message.contains("nests more than 24 levels"), "{error:?}");
        }
        let block: String = (0..40).map(|level| format!("{}k{level}:\n", " ".repeat(level))).collect();
        assert!(parse(&block).unwrap_err().message.contains("nests more than"));
    }

    #[test]
    fn an_empty_or_comment_only_text_is_null() {
        assert_eq!(parse("").unwrap().value, Value::Null);
        assert_eq!(parse("# nothing\n\n").unwrap().value, Value::Null);
    }

    fn values(text: &str) -> Vec<Value> {
        let Value::Sequence(items) = parse(text).unwrap().value else { panic!("{text}") };
        items.into_iter().map(|node| node.value).collect()
    }

    #[test]
    fn numbers_follow_the_core_schema_and_nothing_more() {
        assert_eq!(
            values("[0x1F, 0o17, +12, -0, 1e3, .5, 2., -.inf, 1_000, 0b11, 12abc, '0x1F', !!str 12]"),
            vec![
                Value::Integer(31),
                Value::Integer(15),
                Value::Integer(12),
                Value::Integer(0),
                Value::Float(1000.0),
                Value::Float(0.5),
                Value::Float(2.0),
                Value::Float(f64::NEG_INFINITY),
                Value::String("1_000".into()),
                Value::String("0b11".into()),
                Value::String("12abc".into()),
                Value::String("0x1F".into()),
                Value::String("12".into()),
            ]
        );
        // Beyond 64 bits a decimal stays a number, so range checks can name it.
        assert_eq!(values("[99999999999999999999]"), vec![Value::Float(1e20)]);
        assert!(parse("a: !!int twelve").unwrap_err().message.contains("not a valid `!!int`"));
        assert!(parse("a: !custom 1").unwrap_err().message.contains("unsupported tag `!custom`"));
    }

    #[test]
    fn aliases_copy_their_anchor_at_the_alias_position() {
        let root = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let Value::Mapping(entries) = root.value else { panic!() };
        assert_eq!(entries[1].1.value, entries[0].1.value);
        assert_eq!(at(&entries[1].1), (2, 4));
        assert!(parse("b: *nothing\n").is_err());
    }

    #[test]
    fn merge_keys_fill_in_what_the_mapping_does_not_say() {
        let root =
            parse("base: &b {type: String, isCollection: true}\nattr:\n  <<: *b\n  type: Integer\n").unwrap();
        let Value::Mapping(entries) = root.value else { panic!() };
        let Value::Mapping(attr) = &entries[1].1.value else { panic!() };
        let keys: Vec<&Value> = attr.iter().map(|(key, _)| &key.value).collect();
        assert_eq!(keys, [&Value::String("type".into()), &Value::String("isCollection".into())]);
        assert_eq!(attr[0].1.value, Value::String("Integer".into()));
        assert!(parse("a:\n  <<: 3\n").unwrap_err().message.contains("merge key"));
        // A quoted "<<" is an ordinary key.
        assert!(matches!(parse("'<<': 3\n").unwrap().value, Value::Mapping(entries) if entries.len() == 1));
    }

    #[test]
    fn alias_expansion_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..8 {
            text.push_str(&format!(
                "a{level}: &a{level} [{}]\n",
                vec![format!("*a{}", level - 1); 10].join(", ")
            ));
        }
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("aliases expand to more than"), "{error:?}");
    }

    #[test]
    fn duplicates_in_large_mappings_are_found_at_their_second_place() {
        let mut text: String = (0..100).map(|n| format!("key{n}: {n}\n")).collect();
        text.push_str("key7: again\n");
        let error = parse(&text).unwrap_err();
        assert_eq!(error.position.line, 101, "{error:?}");
        assert!(error.message.contains("`key7`; it is first given at line 8, column 1"), "{error:?}");
    }

    #[test]
    fn keys_are_the_same_by_one_rule_in_mappings_of_any_size_and_in_merges() {
        let padding: String = (0..40).map(|n| format!("pad{n}: {n}\n")).collect();
        for prefix in ["", padding.as_str()] {
            let nan_twice = format!("{prefix}.nan: 1\n.NaN: 2\n");
            let error = parse(&nan_twice).unwrap_err();
            assert!(error.message.contains("duplicate key"), "{error:?}");
            let zeros = format!("{prefix}0.0: 1\n-0.0: 2\n1: 3\n1.0: 4\n");
            assert!(parse(&zeros).is_ok(), "{prefix}");
        }
        let merged =
            parse("base: &base {.nan: from base, other: kept}\nitem:\n  <<: *base\n  .nan: own\n").unwrap();
        let Value::Mapping(root) = merged.value else { panic!() };
        let Value::Mapping(item) = &root[1].1.value else { panic!() };
        assert_eq!(item.len(), 2, "the written `.nan` wins over the merged one: {item:?}");
        assert_eq!(item[0].1.value, Value::String("own".into()));
    }

    #[test]
    fn a_second_document_is_refused() {
        let error = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(error.position.line, 2, "{error:?}");
        assert!(error.message.contains("more than one YAML document"), "{error:?}");
    }
}
