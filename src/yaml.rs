//! YAML text to a tree of located nodes: the one place that knows the YAML
//! parser. Everything after it reads `Node`s, so every problem can be reported
//! at its line and column, and all of them in one run.
//!
//! serde-saphyr does the parsing (it rejects duplicate keys with their place,
//! expands merge keys, and bounds alias expansion); the tree is built through
//! its `Spanned` wrapper.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Spanned};

/// Where a node starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub line: u64,
    pub column: u64,
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
    /// Entries in document order; keys are unique (the parser refuses duplicates).
    Mapping(Vec<(Node, Node)>),
}

impl Value {
    /// How a problem report names this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Integer(_) => "an integer",
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

/// Parses one YAML document. An empty document is `Value::Null` at 1:1.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty()
        || text.lines().all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
    {
        return Ok(Node { value: Value::Null, position: Position { line: 1, column: 1 } });
    }
    serde_saphyr::from_str_with_options::<Node>(text, options()).map_err(|error| {
        let position = error
            .location()
            .map(|location| Position { line: location.line(), column: location.column() })
            .unwrap_or(Position { line: 1, column: 1 });
        SyntaxError { position, message: explain(bare_message(&error.to_string())) }
    })
}

/// How deep a document may nest. A desired-state file needs 8 levels; the
/// bound keeps a hostile file from exhausting the stack.
pub const MAX_DEPTH: usize = 24;

/// The parser's options: YAML 1.2 booleans, duplicate keys refused, alias
/// expansion and document size bounded. The benchmarks parse with them too.
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::Error,
        // Only `true`/`false` are booleans (YAML 1.2): a value `y` or `NO` is text.
        strict_booleans: true,
        with_snippet: false,
        // Desired-state files have little use for aliases: a few thousand
        // replayed events are plenty, and a "billion laughs" stops early.
        alias_limits: serde_saphyr::alias_limits! { max_total_replayed_events: 100_000 },
        budget: serde_saphyr::budget! {
            // Desired-state files of a large tenant (100,000 principals with a
            // few values each) hold a few million nodes; aliases stay bounded.
            max_nodes: 50_000_000,
            max_events: 100_000_000,
            max_depth: MAX_DEPTH,
        },
    }
}

/// Budget breaches in words a person can act on.
fn explain(message: String) -> String {
    if message.starts_with("budget breached: Depth") || message.contains("recursion limit exceeded") {
        format!("the document nests more than {MAX_DEPTH} levels deep (a desired-state file needs 8)")
    } else if let Some(limit) = message.strip_prefix("budget breached: ") {
        format!("the document is too large or too repetitive for the parser's limits ({limit})")
    } else {
        message
    }
}

/// The parser's message without its own "line L column C:" prefix and snippet.
fn bare_message(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or(rendered).trim();
    let without_prefix = match first.strip_prefix("line ") {
        Some(rest) => rest
            .split_once(": ")
            .filter(|(place, _)| place.split_whitespace().count() == 3)
            .map_or(first, |(_, message)| message),
        None => first,
    };
    let without_prefix = match without_prefix.strip_prefix("error: ") {
        Some(rest) => rest,
        None => without_prefix,
    };
    // Some messages repeat the place at their end: " at line 2, column 16".
    let without_suffix = match without_prefix.rfind(" at line ") {
        Some(index) if without_prefix[index..].contains(", column ") => &without_prefix[..index],
        _ => without_prefix,
    };
    without_suffix.trim_end_matches(|c: char| c == '.' || c.is_whitespace()).to_owned()
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            value: spanned.value,
            position: Position { line: spanned.referenced.line(), column: spanned.referenced.column() },
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Integer(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(i64::try_from(value).map_or(Value::Float(value as f64), Value::Integer))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Value, E> {
        Ok(i64::try_from(value).map_or(Value::Float(value as f64), Value::Integer))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Value, E> {
        Ok(i64::try_from(value).map_or(Value::Float(value as f64), Value::Integer))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut nodes = Vec::new();
        while let Some(node) = items.next_element::<Node>()? {
            nodes.push(node);
        }
        Ok(Value::Sequence(nodes))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some((key, value)) = entries.next_entry::<Node, Node>()? {
            pairs.push((key, value));
        }
        Ok(Value::Mapping(pairs))
    }
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
}
