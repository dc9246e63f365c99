//! OData query options as the emulator serves them: parsing `$filter`,
//! `$select`, `$top`, `$skiptoken`, `$expand`, `$count` and `$orderby`,
//! evaluating filters on JSON entities, cutting pages and writing
//! `@odata.nextLink` (C-PAGE) — kept apart from the routes so every
//! collection pages and filters the same way.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::error::GraphError;

/// Graph's default page for directory lists (L-LIST-USERS, L-LIST-SP).
pub const GRAPH_DEFAULT_PAGE_SIZE: usize = 100;
/// Graph's largest `$top` for users and service principals.
pub const GRAPH_MAX_PAGE_SIZE: usize = 999;

/// The query options of one request, decoded.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// Every parameter in order, decoded, to carry into a nextLink.
    pub parameters: Vec<(String, String)>,
    pub filter: Option<Filter>,
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub skip_offset: usize,
    pub expand: Option<String>,
    pub count: bool,
    pub order_by: Option<(String, bool)>,
    pub search: Option<String>,
}

impl QueryOptions {
    /// Decodes a raw query string. Options other than `allowed` are refused
    /// (the emulator's choice; Graph's answer differs by endpoint).
    pub fn parse(raw: &str, allowed: &[&str]) -> Result<QueryOptions, GraphError> {
        let mut options = QueryOptions::default();
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let (key, value) = (key.into_owned(), value.into_owned());
            let option = key.to_ascii_lowercase();
            if option.starts_with('$') && !allowed.contains(&option.as_str()) {
                return Err(GraphError::bad_request(format!(
                    "Query option '{key}' is not supported by the emulator on this endpoint."
                )));
            }
            match option.as_str() {
                "$filter" => options.filter = Some(Filter::parse(&value)?),
                "$select" => {
                    options.select = Some(
                        value.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
                    )
                }
                "$top" => {
                    let top =
                        value.parse::<usize>().ok().filter(|top| (1..=GRAPH_MAX_PAGE_SIZE).contains(top));
                    // Emulator's choice: Graph's answer to an out-of-range $top varies by API (C-PAGE).
                    options.top = Some(top.ok_or_else(|| {
                        GraphError::bad_request(format!(
                            "Invalid page size specified: '{value}'. Must be between 1 and {GRAPH_MAX_PAGE_SIZE} inclusive."
                        ))
                    })?);
                }
                "$skiptoken" => options.skip_offset = decode_skip_token(&value)?,
                "$expand" => options.expand = Some(value.clone()),
                "$count" => options.count = value.eq_ignore_ascii_case("true"),
                "$orderby" => {
                    let mut words = value.split_whitespace();
                    let property = words.next().unwrap_or_default().to_owned();
                    let descending =
                        matches!(words.next(), Some(direction) if direction.eq_ignore_ascii_case("desc"));
                    options.order_by = Some((property, descending));
                }
                "$search" => options.search = Some(value.clone()),
                _ => {}
            }
            options.parameters.push((key, value));
        }
        Ok(options)
    }

    /// How many items one page holds: `$top`, else the configured page.
    /// A configured page below Graph's default is a test knob that forces
    /// paging, so it caps `$top` too.
    pub fn page_length(&self, page_size: usize) -> usize {
        let page_size = page_size.max(1);
        match self.top {
            None => page_size,
            Some(top) if page_size < GRAPH_DEFAULT_PAGE_SIZE => top.min(page_size),
            Some(top) => top,
        }
    }

    /// The `@odata.nextLink` for the page that starts at `offset`: the same
    /// path and parameters with a new `$skiptoken` (C-PAGE, A-AS-LIST Ex. 2).
    pub fn next_link(&self, base_url: &str, path: &str, offset: usize) -> String {
        let mut link = format!("{base_url}/v1.0/{path}?");
        let mut first = true;
        for (key, value) in &self.parameters {
            if key.eq_ignore_ascii_case("$skiptoken") {
                continue;
            }
            if !first {
                link.push('&');
            }
            first = false;
            link.push_str(&encode_query_component(key));
            link.push('=');
            link.push_str(&encode_query_component(value));
        }
        if !first {
            link.push('&');
        }
        link.push_str("$skiptoken=");
        link.push_str(&encode_skip_token(offset));
        link
    }

    /// `$select`ed properties, or `None` for the default set.
    pub fn selected(&self) -> Option<&[String]> {
        self.select.as_deref()
    }
}

/// Keeps the characters OData URLs show unescaped; escapes the rest.
fn encode_query_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b'\''
            | b'('
            | b')'
            | b','
            | b'/'
            | b':'
            | b'@' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// The skip token is opaque to clients; here it carries an offset.
fn encode_skip_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_skip_token(token: &str) -> Result<usize, GraphError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("offset:").and_then(|n| n.parse().ok()))
        // Emulator's choice: a token it did not issue is a bad request.
        .ok_or_else(|| GraphError::bad_request("The $skiptoken is not one this service issued."))
}

/// Keeps only the `$select`ed properties of an entity, in `$select` order.
/// Properties the entity lacks read as `null`, as Graph shows unset ones.
pub fn select_properties(entity: &Map<String, Value>, select: Option<&[String]>) -> Map<String, Value> {
    match select {
        None => entity.clone(),
        Some(properties) => properties
            .iter()
            .map(|property| (property.clone(), entity.get(property).cloned().unwrap_or(Value::Null)))
            .collect(),
    }
}

/// What a filter on one key keeps, the key lowercased: at least
/// `at_least`, at most `at_most`, starting with `prefix`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    pub at_least: Option<String>,
    pub at_most: Option<String>,
    pub prefix: Option<String>,
}

impl KeyRange {
    /// Whether `key` (lowercased) is in the range.
    pub fn holds(&self, key: &str) -> bool {
        self.at_least.as_deref().is_none_or(|bound| key >= bound)
            && self.at_most.as_deref().is_none_or(|bound| key <= bound)
            && self.prefix.as_deref().is_none_or(|prefix| key.starts_with(prefix))
    }
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(i64),
    Boolean(bool),
    Null,
}

/// A parsed `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: Vec<String>,
        equal: bool,
        literal: Literal,
    },
    /// `path in ('a', 'b')`: equal to any of the literals.
    In {
        path: Vec<String>,
        literals: Vec<Literal>,
    },
    StartsWith {
        path: Vec<String>,
        prefix: String,
    },
    /// `path ge 'text'` (`at_least`) or `path le 'text'`: Graph documents
    /// them on `userPrincipalName`; strings compare as the property's
    /// equality does (ignoring case for names), then by code point.
    Bound {
        path: Vec<String>,
        at_least: bool,
        bound: String,
    },
    EndsWith {
        path: Vec<String>,
        suffix: String,
    },
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, GraphError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, position: 0 };
        let filter = parser.or_expression()?;
        if parser.position != parser.tokens.len() {
            return Err(invalid_filter(text));
        }
        Ok(filter)
    }

    /// Every property path the filter reads.
    pub fn paths(&self) -> Vec<&[String]> {
        match self {
            Filter::Compare { path, .. }
            | Filter::In { path, .. }
            | Filter::StartsWith { path, .. }
            | Filter::Bound { path, .. }
            | Filter::EndsWith { path, .. } => {
                vec![path.as_slice()]
            }
            Filter::Not(inner) => inner.paths(),
            Filter::And(left, right) | Filter::Or(left, right) => {
                let mut paths = left.paths();
                paths.extend(right.paths());
                paths
            }
        }
    }

    /// Whether any part uses `ge` or `le`.
    pub fn uses_bounds(&self) -> bool {
        match self {
            Filter::Bound { .. } => true,
            Filter::Not(inner) => inner.uses_bounds(),
            Filter::And(left, right) | Filter::Or(left, right) => left.uses_bounds() || right.uses_bounds(),
            _ => false,
        }
    }

    /// The keys of `property` the filter keeps, as bounds on the key
    /// compared ignoring case, when the filter is only `ge`, `le` and
    /// `startsWith` on `property` joined by `and`: what an index sorted by
    /// that key answers with a binary search.
    pub fn key_range(&self, property: &str) -> Option<KeyRange> {
        match self {
            Filter::Bound { path, at_least, bound } if path.len() == 1 && path[0] == property => {
                let bound = bound.to_lowercase();
                Some(if *at_least {
                    KeyRange { at_least: Some(bound), ..KeyRange::default() }
                } else {
                    KeyRange { at_most: Some(bound), ..KeyRange::default() }
                })
            }
            Filter::StartsWith { path, prefix } if path.len() == 1 && path[0] == property => {
                Some(KeyRange { prefix: Some(prefix.to_lowercase()), ..KeyRange::default() })
            }
            Filter::And(left, right) => {
                let (left, right) = (left.key_range(property)?, right.key_range(property)?);
                let higher = |a: Option<String>, b: Option<String>| match (a, b) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                let lower = |a: Option<String>, b: Option<String>| match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                match (&left.prefix, &right.prefix) {
                    (Some(a), Some(b)) if a != b => return None,
                    _ => {}
                }
                Some(KeyRange {
                    at_least: higher(left.at_least, right.at_least),
                    at_most: lower(left.at_most, right.at_most),
                    prefix: left.prefix.or(right.prefix),
                })
            }
            _ => None,
        }
    }

    /// Whether any part uses `endsWith`, an advanced-query-only operator (C-AQ).
    pub fn uses_ends_with(&self) -> bool {
        match self {
            Filter::EndsWith { .. } => true,
            Filter::Not(inner) => inner.uses_ends_with(),
            Filter::And(left, right) | Filter::Or(left, right) => {
                left.uses_ends_with() || right.uses_ends_with()
            }
            _ => false,
        }
    }

    /// Evaluates the filter on an entity. `case_insensitive` lists the
    /// properties Graph compares ignoring case; everything else, custom
    /// security attribute values included, compares exactly (R-USER).
    pub fn matches(&self, entity: &Map<String, Value>, case_insensitive: &[&str]) -> bool {
        match self {
            Filter::Compare { path, equal, literal } => {
                let ignore_case = path.len() == 1 && case_insensitive.contains(&path[0].as_str());
                let found = members(lookup(entity, path))
                    .iter()
                    .any(|value| literal_equals(value, literal, ignore_case));
                let absent_is_null =
                    *literal == Literal::Null && lookup(entity, path).is_none_or(Value::is_null);
                if *equal { found || absent_is_null } else { !(found || absent_is_null) }
            }
            Filter::In { path, literals } => {
                let ignore_case = path.len() == 1 && case_insensitive.contains(&path[0].as_str());
                members(lookup(entity, path))
                    .iter()
                    .any(|value| literals.iter().any(|literal| literal_equals(value, literal, ignore_case)))
            }
            Filter::StartsWith { path, prefix } => {
                let ignore_case = path.len() == 1 && case_insensitive.contains(&path[0].as_str());
                members(lookup(entity, path)).iter().any(|value| match value.as_str() {
                    Some(text) if ignore_case => text.to_lowercase().starts_with(&prefix.to_lowercase()),
                    Some(text) => text.starts_with(prefix.as_str()),
                    None => false,
                })
            }
            Filter::Bound { path, at_least, bound } => {
                let ignore_case = path.len() == 1 && case_insensitive.contains(&path[0].as_str());
                members(lookup(entity, path)).iter().any(|value| match value.as_str() {
                    Some(text) => {
                        let ordering = if ignore_case {
                            text.to_lowercase().cmp(&bound.to_lowercase())
                        } else {
                            text.cmp(bound.as_str())
                        };
                        if *at_least { ordering.is_ge() } else { ordering.is_le() }
                    }
                    None => false,
                })
            }
            Filter::EndsWith { path, suffix } => {
                let ignore_case = path.len() == 1 && case_insensitive.contains(&path[0].as_str());
                members(lookup(entity, path)).iter().any(|value| match value.as_str() {
                    Some(text) if ignore_case => text.to_lowercase().ends_with(&suffix.to_lowercase()),
                    Some(text) => text.ends_with(suffix.as_str()),
                    None => false,
                })
            }
            Filter::Not(inner) => !inner.matches(entity, case_insensitive),
            Filter::And(left, right) => {
                left.matches(entity, case_insensitive) && right.matches(entity, case_insensitive)
            }
            Filter::Or(left, right) => {
                left.matches(entity, case_insensitive) || right.matches(entity, case_insensitive)
            }
        }
    }
}

fn lookup<'a>(entity: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut current = entity.get(first)?;
    for segment in rest {
        current = current.as_object()?.get(segment)?;
    }
    Some(current)
}

/// A collection's members, or the value itself; nothing when absent.
fn members(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    }
}

fn literal_equals(value: &Value, literal: &Literal, ignore_case: bool) -> bool {
    match (value, literal) {
        (Value::String(text), Literal::String(expected)) if ignore_case => {
            text.to_lowercase() == expected.to_lowercase()
        }
        (Value::String(text), Literal::String(expected)) => text == expected,
        (Value::Number(number), Literal::Number(expected)) => number.as_i64() == Some(*expected),
        (Value::Bool(flag), Literal::Boolean(expected)) => flag == expected,
        _ => false,
    }
}

fn invalid_filter(text: &str) -> GraphError {
    // Emulator's choice of message: the filter grammar it understands is small.
    GraphError::bad_request(format!("Invalid filter clause: '{text}'."))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, GraphError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '\'' => {
                chars.next();
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(other) => literal.push(other),
                        None => return Err(invalid_filter(text)),
                    }
                }
                tokens.push(Token::Text(literal));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek_word(&self, expected: &str) -> bool {
        matches!(self.tokens.get(self.position), Some(Token::Word(word)) if word.eq_ignore_ascii_case(expected))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn expect(&mut self, expected: &Token) -> Result<(), GraphError> {
        match self.next() {
            Some(token) if token == *expected => Ok(()),
            _ => Err(self.error()),
        }
    }

    fn error(&self) -> GraphError {
        GraphError::bad_request("Invalid filter clause: the emulator could not parse the $filter expression.")
    }

    fn or_expression(&mut self) -> Result<Filter, GraphError> {
        let mut left = self.and_expression()?;
        while self.peek_word("or") {
            self.position += 1;
            let right = self.and_expression()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expression(&mut self) -> Result<Filter, GraphError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.position += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, GraphError> {
        if self.peek_word("not") {
            self.position += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or_expression()?;
                self.expect(&Token::Close)?;
                Ok(inner)
            }
            Some(Token::Word(word)) if matches!(self.tokens.get(self.position), Some(Token::Open)) => {
                let function = word.to_ascii_lowercase();
                self.position += 1;
                let path = self.path()?;
                self.expect(&Token::Comma)?;
                let Some(Token::Text(argument)) = self.next() else {
                    return Err(self.error());
                };
                self.expect(&Token::Close)?;
                match function.as_str() {
                    "startswith" => Ok(Filter::StartsWith { path, prefix: argument }),
                    "endswith" => Ok(Filter::EndsWith { path, suffix: argument }),
                    _ => Err(GraphError::bad_request(format!(
                        "The emulator does not support the filter function '{word}'."
                    ))),
                }
            }
            Some(Token::Word(word)) => {
                let path = split_path(&word);
                if self.peek_word("in") {
                    self.position += 1;
                    self.expect(&Token::Open)?;
                    let mut literals = vec![self.literal()?];
                    while matches!(self.tokens.get(self.position), Some(Token::Comma)) {
                        self.position += 1;
                        literals.push(self.literal()?);
                    }
                    self.expect(&Token::Close)?;
                    return Ok(Filter::In { path, literals });
                }
                if let Some(Token::Word(op)) = self.tokens.get(self.position)
                    && (op.eq_ignore_ascii_case("ge") || op.eq_ignore_ascii_case("le"))
                {
                    let at_least = op.eq_ignore_ascii_case("ge");
                    self.position += 1;
                    let Literal::String(bound) = self.literal()? else {
                        return Err(GraphError::bad_request(
                            "The emulator supports 'ge' and 'le' on strings only.",
                        ));
                    };
                    return Ok(Filter::Bound { path, at_least, bound });
                }
                let equal = match self.next() {
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("eq") => true,
                    Some(Token::Word(op)) if op.eq_ignore_ascii_case("ne") => false,
                    Some(Token::Word(op)) => {
                        return Err(GraphError::bad_request(format!(
                            "The emulator does not support the filter operator '{op}'."
                        )));
                    }
                    _ => return Err(self.error()),
                };
                let literal = self.literal()?;
                Ok(Filter::Compare { path, equal, literal })
            }
            _ => Err(self.error()),
        }
    }

    fn literal(&mut self) -> Result<Literal, GraphError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::String(text)),
            Some(Token::Word(word)) if word == "null" => Ok(Literal::Null),
            Some(Token::Word(word)) if word == "true" => Ok(Literal::Boolean(true)),
            Some(Token::Word(word)) if word == "false" => Ok(Literal::Boolean(false)),
            Some(Token::Word(word)) => word.parse().map(Literal::Number).map_err(|_| self.error()),
            _ => Err(self.error()),
        }
    }

    fn path(&mut self) -> Result<Vec<String>, GraphError> {
        match self.next() {
            Some(Token::Word(word)) => Ok(split_path(&word)),
            _ => Err(self.error()),
        }
    }
}

fn split_path(word: &str) -> Vec<String> {
    word.split('/').map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn documented_filters_parse_and_match() {
        let user = entity(json!({ "displayName": "Jana", "customSecurityAttributes": { "Marketing": {
            "AppCountry": ["Canada", "Mexico"], "EmployeeId": "GS46982" } } }));
        let eq = Filter::parse("customSecurityAttributes/Marketing/AppCountry eq 'Canada'").unwrap();
        assert!(eq.matches(&user, &[]));
        let ne = Filter::parse("customSecurityAttributes/Marketing/AppCountry ne 'Canada'").unwrap();
        assert!(!ne.matches(&user, &[]));
        let starts = Filter::parse("startsWith(customSecurityAttributes/Marketing/EmployeeId,'GS')").unwrap();
        assert!(starts.matches(&user, &[]));
        let case = Filter::parse("customSecurityAttributes/Marketing/EmployeeId eq 'gs46982'").unwrap();
        assert!(!case.matches(&user, &[]), "filter values are case sensitive");
        let nobody = entity(json!({ "customSecurityAttributes": null }));
        assert!(ne.matches(&nobody, &[]), "ne matches principals without the attribute");
    }

    #[test]
    fn definition_filters_combine_with_and() {
        let definition =
            entity(json!({ "attributeSet": "Engineering", "name": "Project", "status": "Available" }));
        let filter = Filter::parse("name eq 'project' and status eq 'Available'").unwrap();
        assert!(filter.matches(&definition, &["name"]));
        assert!(!filter.matches(&definition, &[]));
        assert!(Filter::parse("name eq").is_err());
        let any = Filter::parse("name in ('Region', 'project')").unwrap();
        assert!(any.matches(&definition, &["name"]));
        assert!(Filter::parse("name in ()").is_err());
        assert!(Filter::parse("name gt 'a'").is_err());
    }

    #[test]
    fn skip_tokens_round_trip_and_next_links_keep_parameters() {
        let options = QueryOptions::parse("%24top=5&%24select=id,displayName", &["$top", "$select"]).unwrap();
        let link = options.next_link("http://127.0.0.1:1", "users", 5);
        assert!(
            link.starts_with("http://127.0.0.1:1/v1.0/users?$top=5&$select=id,displayName&$skiptoken="),
            "{link}"
        );
        let token = link.rsplit("$skiptoken=").next().unwrap();
        assert_eq!(decode_skip_token(token).unwrap(), 5);
        assert!(decode_skip_token("nonsense").is_err());
    }
}
