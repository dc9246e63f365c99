//! The condition of an Azure role assignment (Azure ABAC), parsed and
//! evaluated against a principal's custom security attributes, so that a
//! plan can say which assignments a deactivation breaks and whose access a
//! value change moves.
//!
//! Written from Microsoft's "Azure role assignment condition format and
//! syntax" (<https://learn.microsoft.com/azure/role-based-access-control/conditions-format>):
//! - an expression is `<attribute> <operator> <value>`; an attribute is a
//!   source and a name, `@Principal[...]`, `@Resource[...]`, `@Request[...]`
//!   or `@Environment[...]`; a value is a literal in single quotes, a number,
//!   `true`/`false`, a GUID, or a set of them in braces `{'a', 'b'}`, or
//!   another attribute (`@Principal[...] StringEquals @Resource[...]`);
//! - a principal attribute is a Microsoft Entra custom security attribute,
//!   written `@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:<Set>_<Attribute>]`
//!   (<https://learn.microsoft.com/azure/role-based-access-control/conditions-custom-security-attributes>);
//! - the functions `ActionMatches{'...'}`, `SubOperationMatches{'...'}` and
//!   `Exists <attribute>`;
//! - `AND`/`&&`, `OR`/`||`, `NOT`/`!`, and parentheses. The page says that
//!   three or more expressions mixing `AND` and `OR` "must" be grouped with
//!   parentheses, as the order is ambiguous: such a condition is a parse
//!   error here, never read one way or the other;
//! - the comparison operators: `StringEquals`, `StringNotEquals`,
//!   `StringStartsWith`, `StringNotStartsWith`, `StringLike`, `StringNotLike`
//!   (each also `…IgnoreCase`), `NumericEquals`, `NumericNotEquals`,
//!   `NumericGreaterThan(Equals)`, `NumericLessThan(Equals)`, `BoolEquals`,
//!   `BoolNotEquals`, `GuidEquals`, `GuidNotEquals`, `DateTimeEquals` and its
//!   kin, and the cross products `ForAnyOfAnyValues:`, `ForAllOfAnyValues:`,
//!   `ForAnyOfAllValues:`, `ForAllOfAllValues:` in front of a string, numeric
//!   or GUID operator.
//!
//! What the page leaves open is never guessed: how a comparison reads a
//! principal that holds no value of the attribute, and how a single-value
//! operator reads a principal attribute holding several values, are
//! "unknown" to the evaluator, as is everything about the request or the
//! resource (the action, tags, names).
//!
//! Pure: text in, values in, verdicts out.

use std::collections::BTreeMap;
use std::fmt;

/// The prefix of a principal attribute that is a custom security attribute.
pub const PRINCIPAL_PREFIX: &str = "Microsoft.Directory/CustomSecurityAttributes/Id:";

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Every part holds (two or more).
    And(Vec<Condition>),
    /// Any part holds (two or more).
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// `ActionMatches{'…'}`, `SubOperationMatches{'…'}`: about the request.
    Function {
        name: String,
        argument: String,
    },
    /// `Exists <attribute>`.
    Exists(Attribute),
    Compare(Comparison),
}

/// `<operand> <operator> <operand>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub left: Operand,
    pub operator: Operator,
    pub right: Operand,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Attribute(Attribute),
    /// One literal, or a set of them in braces.
    Literals(Vec<Literal>),
}

/// `@Source[name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// `Principal`, `Resource`, `Request`, `Environment` (as written).
    pub source: String,
    pub name: String,
}

impl Attribute {
    /// The definition id (`Engineering_Project`) when this is a principal's
    /// custom security attribute.
    pub fn custom_security_attribute(&self) -> Option<&str> {
        if !self.source.eq_ignore_ascii_case("Principal") {
            return None;
        }
        let prefix = self.name.get(..PRINCIPAL_PREFIX.len())?;
        prefix.eq_ignore_ascii_case(PRINCIPAL_PREFIX).then(|| &self.name[PRINCIPAL_PREFIX.len()..])
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}[{}]", self.source, self.name)
    }
}

/// A literal as written: quoted text, or a bare word (a number, `true`,
/// `false`, a GUID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Quoted(String),
    Bare(String),
}

impl Literal {
    pub fn text(&self) -> &str {
        match self {
            Literal::Quoted(text) | Literal::Bare(text) => text,
        }
    }
}

/// How a cross-product operator combines the values of its two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quantifier {
    AnyOfAny,
    AllOfAny,
    AnyOfAll,
    AllOfAll,
}

impl Quantifier {
    pub const ALL: [Quantifier; 4] =
        [Quantifier::AnyOfAny, Quantifier::AllOfAny, Quantifier::AnyOfAll, Quantifier::AllOfAll];

    pub fn name(self) -> &'static str {
        match self {
            Quantifier::AnyOfAny => "ForAnyOfAnyValues",
            Quantifier::AllOfAny => "ForAllOfAnyValues",
            Quantifier::AnyOfAll => "ForAnyOfAllValues",
            Quantifier::AllOfAll => "ForAllOfAllValues",
        }
    }
}

/// The pairwise test of a comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Test {
    StringEquals,
    StringStartsWith,
    StringLike,
    NumericEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    NumericLessThan,
    NumericLessThanEquals,
    BoolEquals,
    GuidEquals,
    DateTimeEquals,
    DateTimeGreaterThan,
    DateTimeGreaterThanEquals,
    DateTimeLessThan,
    DateTimeLessThanEquals,
}

/// A comparison operator: an optional cross product, a test, whether it is
/// negated (`StringNotEquals`) and whether it ignores case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operator {
    pub quantifier: Option<Quantifier>,
    pub test: Test,
    pub negated: bool,
    pub ignore_case: bool,
}

/// Every operator name the page documents, with what it means.
fn operator_names() -> Vec<(String, Test, bool, bool)> {
    let mut names = Vec::new();
    for (stem, test) in
        [("Equals", Test::StringEquals), ("StartsWith", Test::StringStartsWith), ("Like", Test::StringLike)]
    {
        for (negated, not) in [(false, ""), (true, "Not")] {
            for (ignore_case, suffix) in [(false, ""), (true, "IgnoreCase")] {
                names.push((format!("String{not}{stem}{suffix}"), test, negated, ignore_case));
            }
        }
    }
    for (kind, tests) in [
        (
            "Numeric",
            [
                Test::NumericEquals,
                Test::NumericGreaterThan,
                Test::NumericGreaterThanEquals,
                Test::NumericLessThan,
                Test::NumericLessThanEquals,
            ],
        ),
        (
            "DateTime",
            [
                Test::DateTimeEquals,
                Test::DateTimeGreaterThan,
                Test::DateTimeGreaterThanEquals,
                Test::DateTimeLessThan,
                Test::DateTimeLessThanEquals,
            ],
        ),
    ] {
        let [equals, greater, greater_equals, less, less_equals] = tests;
        names.push((format!("{kind}Equals"), equals, false, false));
        names.push((format!("{kind}NotEquals"), equals, true, false));
        names.push((format!("{kind}GreaterThan"), greater, false, false));
        names.push((format!("{kind}GreaterThanEquals"), greater_equals, false, false));
        names.push((format!("{kind}LessThan"), less, false, false));
        names.push((format!("{kind}LessThanEquals"), less_equals, false, false));
    }
    names.push(("BoolEquals".into(), Test::BoolEquals, false, false));
    names.push(("BoolNotEquals".into(), Test::BoolEquals, true, false));
    names.push(("GuidEquals".into(), Test::GuidEquals, false, false));
    names.push(("GuidNotEquals".into(), Test::GuidEquals, true, false));
    names
}

impl Operator {
    /// Every operator the page documents; the cross products only in front
    /// of string, numeric and GUID tests, as the page lists them.
    pub fn all() -> Vec<Operator> {
        let mut all = Vec::new();
        for (_, test, negated, ignore_case) in operator_names() {
            all.push(Operator { quantifier: None, test, negated, ignore_case });
            if test.crosses() {
                for quantifier in Quantifier::ALL {
                    all.push(Operator { quantifier: Some(quantifier), test, negated, ignore_case });
                }
            }
        }
        all
    }

    /// The operator as written (`ForAnyOfAnyValues:StringEqualsIgnoreCase`).
    pub fn name(&self) -> String {
        let (name, ..) = operator_names()
            .into_iter()
            .find(|(_, test, negated, ignore_case)| {
                (*test, *negated, *ignore_case) == (self.test, self.negated, self.ignore_case)
            })
            .expect("every operator has a name");
        match self.quantifier {
            Some(quantifier) => format!("{}:{name}", quantifier.name()),
            None => name,
        }
    }

    fn parse(word: &str) -> Option<Operator> {
        let (quantifier, rest) = match word.split_once(':') {
            Some((prefix, rest)) => {
                let quantifier = Quantifier::ALL
                    .into_iter()
                    .find(|quantifier| quantifier.name().eq_ignore_ascii_case(prefix))?;
                (Some(quantifier), rest)
            }
            None => (None, word),
        };
        let (_, test, negated, ignore_case) =
            operator_names().into_iter().find(|(name, ..)| name.eq_ignore_ascii_case(rest))?;
        if quantifier.is_some() && !test.crosses() {
            return None;
        }
        Some(Operator { quantifier, test, negated, ignore_case })
    }
}

impl Test {
    /// Whether the page lists cross products of this test.
    fn crosses(self) -> bool {
        !matches!(
            self,
            Test::BoolEquals
                | Test::DateTimeEquals
                | Test::DateTimeGreaterThan
                | Test::DateTimeGreaterThanEquals
                | Test::DateTimeLessThan
                | Test::DateTimeLessThanEquals
        )
    }
}

pub use crate::readers::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    BraceOpen,
    BraceClose,
    Comma,
    Not,
    And,
    Or,
    Attribute(Attribute),
    Quoted(String),
    Word(String),
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    let error = |at: usize, message: &str| ParseError { at, message: message.to_owned() };
    while at < bytes.len() {
        let start = at;
        let byte = bytes[at];
        let token = match byte {
            b' ' | b'\t' | b'\r' | b'\n' => {
                at += 1;
                continue;
            }
            b'(' => Token::Open,
            b')' => Token::Close,
            b'{' => Token::BraceOpen,
            b'}' => Token::BraceClose,
            b',' => Token::Comma,
            b'!' => Token::Not,
            b'&' if bytes.get(at + 1) == Some(&b'&') => {
                at += 1;
                Token::And
            }
            b'|' if bytes.get(at + 1) == Some(&b'|') => {
                at += 1;
                Token::Or
            }
            b'\'' => {
                let Some(end) = text[at + 1..].find('\'') else {
                    return Err(error(at, "a quoted value is not closed with '"));
                };
                let quoted = text[at + 1..at + 1 + end].to_owned();
                at += end + 1;
                Token::Quoted(quoted)
            }
            b'@' => {
                let open = text[at..].find('[').map(|offset| at + offset);
                let Some(open) = open else { return Err(error(at, "an attribute is written @Source[name]")) };
                let source = &text[at + 1..open];
                if source.is_empty() || !source.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(error(at, "an attribute is written @Source[name]"));
                }
                let Some(close) = text[open..].find(']') else {
                    return Err(error(open, "an attribute's name is not closed with ]"));
                };
                let name = text[open + 1..open + close].to_owned();
                at = open + close;
                Token::Attribute(Attribute { source: source.to_owned(), name })
            }
            _ if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' || byte == b'_' => {
                let end = text[at..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':')))
                    .map_or(text.len(), |offset| at + offset);
                let word = &text[at..end];
                at = end - 1;
                match word.to_ascii_uppercase().as_str() {
                    "AND" => Token::And,
                    "OR" => Token::Or,
                    "NOT" => Token::Not,
                    _ => Token::Word(word.to_owned()),
                }
            }
            _ => {
                let character = text[at..].chars().next().unwrap_or('?');
                return Err(error(at, &format!("unexpected `{character}`")));
            }
        };
        found.push((start, token));
        at += 1;
    }
    Ok(found)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, token)| token)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |(at, _)| *at)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { at: self.at(), message: message.into() })
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).map(|(_, token)| token.clone());
        self.next += 1;
        token
    }

    fn expect(&mut self, wanted: &Token, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(wanted) {
            self.next += 1;
            Ok(())
        } else {
            self.error(format!("expected {what}"))
        }
    }

    /// A chain of expressions joined by one of AND or OR; mixing the two
    /// without parentheses is refused (the page calls it ambiguous).
    fn expression(&mut self) -> Result<Condition, ParseError> {
        let first = self.unary()?;
        let mut parts = vec![first];
        let mut joiner: Option<Token> = None;
        while let Some(token @ (Token::And | Token::Or)) = self.peek().cloned() {
            if joiner.as_ref().is_some_and(|joiner| *joiner != token) {
                return self.error(
                    "AND and OR are mixed without parentheses; the condition format asks for parentheses \
                     to say which goes first",
                );
            }
            joiner = Some(token);
            self.next += 1;
            parts.push(self.unary()?);
        }
        Ok(match (joiner, parts.len()) {
            (_, 1) => parts.remove(0),
            (Some(Token::And), _) => Condition::And(parts),
            _ => Condition::Or(parts),
        })
    }

    fn unary(&mut self) -> Result<Condition, ParseError> {
        match self.peek() {
            Some(Token::Not) => {
                self.next += 1;
                Ok(Condition::Not(Box::new(self.unary()?)))
            }
            Some(Token::Open) => {
                self.next += 1;
                let inner = self.expression()?;
                self.expect(&Token::Close, "`)`")?;
                Ok(inner)
            }
            Some(Token::Word(word))
                if word.eq_ignore_ascii_case("ActionMatches")
                    || word.eq_ignore_ascii_case("SubOperationMatches") =>
            {
                let name = word.clone();
                self.next += 1;
                self.expect(&Token::BraceOpen, "`{` after a function")?;
                let Some(Token::Quoted(argument)) = self.take() else {
                    self.next -= 1;
                    return self.error("expected a quoted pattern");
                };
                self.expect(&Token::BraceClose, "`}`")?;
                Ok(Condition::Function { name, argument })
            }
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("Exists") => {
                self.next += 1;
                match self.take() {
                    Some(Token::Attribute(attribute)) => Ok(Condition::Exists(attribute)),
                    _ => {
                        self.next -= 1;
                        self.error("expected an attribute after Exists")
                    }
                }
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> Result<Condition, ParseError> {
        let left = self.operand()?;
        let operator = match self.take() {
            Some(Token::Word(word)) => match Operator::parse(&word) {
                Some(operator) => operator,
                None => {
                    self.next -= 1;
                    return self.error(format!("`{word}` is not an operator of the condition format"));
                }
            },
            _ => {
                self.next = self.next.saturating_sub(1);
                return self.error("expected an operator such as StringEquals");
            }
        };
        let right = self.operand()?;
        Ok(Condition::Compare(Comparison { left, operator, right }))
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        match self.take() {
            Some(Token::Attribute(attribute)) => Ok(Operand::Attribute(attribute)),
            Some(Token::Quoted(text)) => Ok(Operand::Literals(vec![Literal::Quoted(text)])),
            Some(Token::Word(word)) if Operator::parse(&word).is_none() => {
                Ok(Operand::Literals(vec![Literal::Bare(word)]))
            }
            Some(Token::BraceOpen) => {
                let mut literals = Vec::new();
                loop {
                    match self.take() {
                        Some(Token::Quoted(text)) => literals.push(Literal::Quoted(text)),
                        Some(Token::Word(word)) => literals.push(Literal::Bare(word)),
                        _ => {
                            self.next -= 1;
                            return self.error("expected a value in the set");
                        }
                    }
                    match self.take() {
                        Some(Token::Comma) => {}
                        Some(Token::BraceClose) => break,
                        _ => {
                            self.next -= 1;
                            return self.error("expected `,` or `}` in a set of values");
                        }
                    }
                }
                Ok(Operand::Literals(literals))
            }
            _ => {
                self.next = self.next.saturating_sub(1);
                self.error("expected an attribute or a value")
            }
        }
    }
}

/// Parses a role assignment's condition.
pub fn parse(text: &str) -> Result<Condition, ParseError> {
    let tokens = tokens(text)?;
    if tokens.is_empty() {
        return Err(ParseError { at: 0, message: "the condition is empty".into() });
    }
    let mut parser = Parser { tokens, next: 0, end: text.len() };
    let condition = parser.expression()?;
    if parser.next < parser.tokens.len() {
        return parser.error("unexpected text after the end of the condition");
    }
    Ok(condition)
}

/// One custom security attribute a condition reads, and what it is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The definition id (`Engineering_Project`).
    pub attribute: String,
    /// The operator as written; `Exists` for an existence check.
    pub operator: String,
    /// The literal compared with; `None` when the other side is an attribute
    /// (a resource tag, say) or there is none: every value counts as named.
    pub value: Option<String>,
    /// Whether the comparison regards case (`…IgnoreCase` does not).
    pub case_sensitive: bool,
}

impl Condition {
    /// Every principal custom security attribute the condition reads, one
    /// entry per literal it is compared with.
    pub fn named(&self) -> Vec<Named> {
        let mut found = Vec::new();
        self.visit(&mut |condition| match condition {
            Condition::Exists(attribute) => {
                if let Some(id) = attribute.custom_security_attribute() {
                    found.push(Named {
                        attribute: id.to_owned(),
                        operator: "Exists".into(),
                        value: None,
                        case_sensitive: true,
                    });
                }
            }
            Condition::Compare(comparison) => {
                for (side, other) in
                    [(&comparison.left, &comparison.right), (&comparison.right, &comparison.left)]
                {
                    let Operand::Attribute(attribute) = side else { continue };
                    let Some(id) = attribute.custom_security_attribute() else { continue };
                    let operator = comparison.operator.name();
                    let case_sensitive = !comparison.operator.ignore_case;
                    match other {
                        Operand::Literals(literals) => found.extend(literals.iter().map(|literal| Named {
                            attribute: id.to_owned(),
                            operator: operator.clone(),
                            value: Some(literal.text().to_owned()),
                            case_sensitive,
                        })),
                        Operand::Attribute(_) => found.push(Named {
                            attribute: id.to_owned(),
                            operator,
                            value: None,
                            case_sensitive,
                        }),
                    }
                }
            }
            _ => {}
        });
        found
    }

    fn visit(&self, visit: &mut dyn FnMut(&Condition)) {
        visit(self);
        match self {
            Condition::And(parts) | Condition::Or(parts) => parts.iter().for_each(|part| part.visit(visit)),
            Condition::Not(inner) => inner.visit(visit),
            _ => {}
        }
    }
}

/// What a principal holds of one attribute: `None` when it holds nothing.
pub type Values<'a> = &'a dyn Fn(&str) -> Option<Vec<String>>;

/// How a change of a principal's values moves what a condition allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The condition allows the same requests before and after.
    Unchanged,
    /// Some requests it denied before it allows after, none the other way.
    Gains,
    /// Some requests it allowed before it denies after, none the other way.
    Loses,
    /// It depends on what the tool cannot know (a resource's tags, how a
    /// missing value compares): the reason completes "access may change: …".
    MayChange(String),
}

/// The most unknown parts a verdict is worked out for, every combination of
/// them tried (2^12 evaluations of the condition at most).
const MAX_UNKNOWNS: usize = 12;

/// What the tool cannot know about a request, a resource or an attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Unknown {
    /// A part about the request or resource alone: the same before and after.
    Shared(String),
    /// A part about the principal's values that cannot be settled; its key
    /// holds the values it reads, so a part whose values the change leaves
    /// alone is one unknown, and one whose values it changes is two.
    Principal(String),
}

/// The verdict of a change of a principal's values (`before` → `after`) on
/// what the condition allows: every part about the request, the resource or
/// an unsettled comparison is tried both ways, a part that reads the
/// principal's changed values separately before and after.
pub fn verdict(condition: &Condition, before: Values<'_>, after: Values<'_>) -> Verdict {
    let mut unknowns = std::collections::BTreeSet::new();
    let mut reasons = std::collections::BTreeSet::new();
    for values in [before, after] {
        condition.visit(&mut |part| {
            if let Some((unknown, reason)) = unknown_part(part, values) {
                unknowns.insert(unknown);
                reasons.insert(reason);
            }
        });
    }
    let unknowns: Vec<Unknown> = unknowns.into_iter().collect();
    if unknowns.len() > MAX_UNKNOWNS {
        return Verdict::MayChange(format!(
            "the condition has more than {MAX_UNKNOWNS} parts the tool cannot settle"
        ));
    }
    let (mut gains, mut loses) = (false, false);
    for combination in 0u32..(1 << unknowns.len()) {
        let assumed: BTreeMap<&Unknown, bool> = unknowns
            .iter()
            .enumerate()
            .map(|(bit, unknown)| (unknown, combination & (1 << bit) != 0))
            .collect();
        let was = evaluate(condition, before, &assumed);
        let is = evaluate(condition, after, &assumed);
        gains |= !was && is;
        loses |= was && !is;
    }
    let principal_unknowns = unknowns.iter().any(|unknown| matches!(unknown, Unknown::Principal(..)));
    let why = || reasons.iter().cloned().collect::<Vec<_>>().join("; ");
    match (gains, loses) {
        (false, false) => Verdict::Unchanged,
        _ if principal_unknowns => Verdict::MayChange(why()),
        (true, false) => Verdict::Gains,
        (false, true) => Verdict::Loses,
        (true, true) => Verdict::MayChange(why()),
    }
}

/// The unknown a part of the condition is, with why, when it is one.
fn unknown_part(part: &Condition, values: Values<'_>) -> Option<(Unknown, String)> {
    match part {
        Condition::Function { name, argument } => Some((
            Unknown::Shared(format!("{name}{{{argument}}}")),
            "it depends on the action requested".into(),
        )),
        Condition::Exists(attribute) => match attribute.custom_security_attribute() {
            Some(_) => None,
            None => {
                Some((Unknown::Shared(format!("Exists {attribute}")), format!("it depends on {attribute}")))
            }
        },
        Condition::Compare(comparison) => match settle(comparison, values) {
            Settled::Known(_) => None,
            Settled::Shared(key, reason) => Some((Unknown::Shared(key), reason)),
            Settled::Principal(key, reason) => Some((Unknown::Principal(key), reason)),
        },
        _ => None,
    }
}

fn evaluate(condition: &Condition, values: Values<'_>, assumed: &BTreeMap<&Unknown, bool>) -> bool {
    let recurse = |part: &Condition| evaluate(part, values, assumed);
    match condition {
        Condition::And(parts) => parts.iter().all(recurse),
        Condition::Or(parts) => parts.iter().any(recurse),
        Condition::Not(inner) => !recurse(inner),
        Condition::Function { name, argument } => {
            assumed.get(&Unknown::Shared(format!("{name}{{{argument}}}"))).copied().unwrap_or(false)
        }
        Condition::Exists(attribute) => match attribute.custom_security_attribute() {
            Some(id) => values(id).is_some_and(|held| !held.is_empty()),
            None => assumed.get(&Unknown::Shared(format!("Exists {attribute}"))).copied().unwrap_or(false),
        },
        Condition::Compare(comparison) => match settle(comparison, values) {
            Settled::Known(truth) => truth,
            Settled::Shared(key, _) => assumed.get(&Unknown::Shared(key)).copied().unwrap_or(false),
            Settled::Principal(key, _) => assumed.get(&Unknown::Principal(key)).copied().unwrap_or(false),
        },
    }
}

/// A comparison as far as the principal's values settle it.
enum Settled {
    Known(bool),
    /// Not about the principal: the same before and after.
    Shared(String, String),
    /// About the principal, but not settled by its values.
    Principal(String, String),
}

fn settle(comparison: &Comparison, values: Values<'_>) -> Settled {
    let read: Vec<Option<Vec<String>>> = [&comparison.left, &comparison.right]
        .iter()
        .filter_map(|operand| match operand {
            Operand::Attribute(attribute) => attribute.custom_security_attribute().map(values),
            Operand::Literals(_) => None,
        })
        .collect();
    let key = format!("{comparison:?} {read:?}");
    let side = |operand: &Operand| -> Result<Option<Vec<String>>, ()> {
        match operand {
            Operand::Literals(literals) => {
                Ok(Some(literals.iter().map(|literal| literal.text().to_owned()).collect()))
            }
            Operand::Attribute(attribute) => match attribute.custom_security_attribute() {
                Some(id) => Ok(values(id)),
                None => Err(()),
            },
        }
    };
    let reads_principal = [&comparison.left, &comparison.right]
        .iter()
        .any(|operand| matches!(operand, Operand::Attribute(attribute) if attribute.custom_security_attribute().is_some()));
    let other_attribute = [&comparison.left, &comparison.right].iter().find_map(|operand| match operand {
        Operand::Attribute(attribute) if attribute.custom_security_attribute().is_none() => {
            Some(attribute.clone())
        }
        _ => None,
    });
    match (side(&comparison.left), side(&comparison.right)) {
        (Ok(Some(left)), Ok(Some(right))) => match compare(comparison.operator, &left, &right) {
            Some(truth) => Settled::Known(truth),
            None => Settled::Principal(
                key,
                format!(
                    "the condition format does not say how {} reads these values",
                    comparison.operator.name()
                ),
            ),
        },
        (Ok(None), _) | (_, Ok(None)) if reads_principal && other_attribute.is_none() => Settled::Principal(
            key,
            "the condition format does not say how a comparison reads a principal without the attribute"
                .into(),
        ),
        _ if reads_principal => Settled::Principal(
            key,
            format!(
                "it compares with {}",
                other_attribute.map(|attribute| attribute.to_string()).unwrap_or_default()
            ),
        ),
        _ => Settled::Shared(
            key,
            format!(
                "it depends on {}",
                other_attribute.map(|attribute| attribute.to_string()).unwrap_or_default()
            ),
        ),
    }
}

/// The comparison of two sides' values; `None` when the page does not say
/// (several values under a single-value operator, a value of the wrong type).
fn compare(operator: Operator, left: &[String], right: &[String]) -> Option<bool> {
    let test = |l: &String, r: &String| -> Option<bool> {
        let held = pairwise(operator, l, r)?;
        Some(held != operator.negated)
    };
    let truth = match operator.quantifier {
        None => match (left, right) {
            ([l], [r]) => test(l, r)?,
            _ => return None,
        },
        Some(quantifier) => {
            let mut table = Vec::with_capacity(left.len());
            for l in left {
                let mut row = Vec::with_capacity(right.len());
                for r in right {
                    row.push(test(l, r)?);
                }
                table.push(row);
            }
            let any = |row: &Vec<bool>| row.iter().any(|held| *held);
            let all = |row: &Vec<bool>| row.iter().all(|held| *held);
            match quantifier {
                Quantifier::AnyOfAny => table.iter().any(any),
                Quantifier::AllOfAny => table.iter().all(any),
                Quantifier::AnyOfAll => table.iter().any(all),
                Quantifier::AllOfAll => table.iter().all(all),
            }
        }
    };
    Some(truth)
}

/// The test of one left value against one right value, before negation.
fn pairwise(operator: Operator, left: &str, right: &str) -> Option<bool> {
    let fold = |text: &str| if operator.ignore_case { text.to_lowercase() } else { text.to_owned() };
    match operator.test {
        Test::StringEquals => Some(fold(left) == fold(right)),
        Test::StringStartsWith => Some(fold(left).starts_with(&fold(right))),
        Test::StringLike => Some(like(&fold(left), &fold(right))),
        Test::NumericEquals
        | Test::NumericGreaterThan
        | Test::NumericGreaterThanEquals
        | Test::NumericLessThan
        | Test::NumericLessThanEquals => {
            // "Only integers are supported."
            let (l, r) = (left.trim().parse::<i64>().ok()?, right.trim().parse::<i64>().ok()?);
            Some(match operator.test {
                Test::NumericEquals => l == r,
                Test::NumericGreaterThan => l > r,
                Test::NumericGreaterThanEquals => l >= r,
                Test::NumericLessThan => l < r,
                _ => l <= r,
            })
        }
        Test::BoolEquals => {
            let boolean = |text: &str| match text.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            Some(boolean(left)? == boolean(right)?)
        }
        // "Case-insensitive matching with the format: 00000000-0000-0000-0000-000000000000."
        Test::GuidEquals => Some(left.trim().eq_ignore_ascii_case(right.trim())),
        // Custom security attributes hold no date and time.
        _ => None,
    }
}

/// `StringLike`: `*` any run of characters, `?` one, `\*` and `\?` literal.
pub fn like(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Part {
        Any,
        One,
        Char(char),
    }
    let mut parts = Vec::new();
    let mut characters = pattern.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' if matches!(characters.peek(), Some('*' | '?')) => {
                parts.push(Part::Char(characters.next().unwrap_or('\\')));
            }
            '*' => parts.push(Part::Any),
            '?' => parts.push(Part::One),
            other => parts.push(Part::Char(other)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the first i characters of text match the first j parts.
    let mut matched = vec![false; parts.len() + 1];
    matched[0] = true;
    for (j, part) in parts.iter().enumerate() {
        if *part == Part::Any {
            matched[j + 1] = matched[j];
        }
    }
    for character in &text {
        let mut next = vec![false; parts.len() + 1];
        for (j, part) in parts.iter().enumerate() {
            next[j + 1] = match part {
                Part::Any => next[j] || matched[j + 1],
                Part::One => matched[j],
                Part::Char(wanted) => matched[j] && wanted == character,
            };
        }
        matched = next;
    }
    matched[parts.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &str = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} \
        AND NOT SubOperationMatches{'Blob.List'})) OR (@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Engineering_Project] \
        StringEquals @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]))";

    fn held<'a>(pairs: &'a [(&'a str, &'a [&'a str])]) -> impl Fn(&str) -> Option<Vec<String>> + 'a {
        move |id: &str| {
            pairs
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(id))
                .map(|(_, values)| values.iter().map(|value| (*value).to_owned()).collect())
        }
    }

    #[test]
    fn the_documented_tag_condition_reads_the_attribute_against_a_tag() {
        let condition = parse(DOCUMENTED).unwrap();
        assert_eq!(
            condition.named(),
            [Named {
                attribute: "Engineering_Project".into(),
                operator: "StringEquals".into(),
                value: None,
                case_sensitive: true
            }]
        );
        let before = held(&[("Engineering_Project", &["Cascade"])]);
        let after = held(&[("Engineering_Project", &["Baker"])]);
        assert!(
            matches!(verdict(&condition, &before, &after), Verdict::MayChange(reason) if reason.contains("@Resource"))
        );
        assert_eq!(verdict(&condition, &before, &before), Verdict::Unchanged);
    }

    #[test]
    fn a_literal_decides_the_verdict() {
        let condition = parse(
            "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR \
             (@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Access_Tier] ForAnyOfAnyValues:StringEquals {'Tier0', 'Tier1'}))",
        )
        .unwrap();
        let named = condition.named();
        assert_eq!(named.iter().map(|n| n.value.clone().unwrap()).collect::<Vec<_>>(), ["Tier0", "Tier1"]);
        let tier0 = held(&[("Access_Tier", &["Tier0"])]);
        let tier2 = held(&[("Access_Tier", &["Tier2"])]);
        let tier1 = held(&[("Access_Tier", &["Tier1"])]);
        assert_eq!(verdict(&condition, &tier2, &tier0), Verdict::Gains);
        assert_eq!(verdict(&condition, &tier0, &tier2), Verdict::Loses);
        assert_eq!(verdict(&condition, &tier0, &tier1), Verdict::Unchanged);
        let none = held(&[]);
        assert!(matches!(verdict(&condition, &none, &tier0), Verdict::MayChange(_)));
    }

    #[test]
    fn mixing_and_with_or_needs_parentheses() {
        let error = parse("@Principal[x] StringEquals 'a' AND @Principal[y] StringEquals 'b' OR @Principal[z] StringEquals 'c'")
            .unwrap_err();
        assert!(error.message.contains("parentheses"), "{error}");
        assert!(parse("(@Principal[x] StringEquals 'a' AND @Principal[y] StringEquals 'b') OR @Principal[z] StringEquals 'c'").is_ok());
    }

    #[test]
    fn symbols_and_words_are_the_same_operators() {
        let words = parse("NOT (@Resource[a] StringEquals 'x') AND @Resource[b] BoolEquals true").unwrap();
        let symbols = parse("!(@Resource[a] StringEquals 'x') && @Resource[b] BoolEquals true").unwrap();
        assert_eq!(words, symbols);
    }

    #[test]
    fn every_documented_operator_parses_and_prints_back() {
        let all = Operator::all();
        assert_eq!(all.len(), 12 * 5 + 6 * 5 + 6 + 2 + 2 * 5);
        for operator in all {
            assert_eq!(Operator::parse(&operator.name()), Some(operator), "{}", operator.name());
        }
        assert_eq!(Operator::parse("ForAnyOfAnyValues:BoolEquals"), None);
        assert_eq!(Operator::parse("StringContains"), None);
    }

    #[test]
    fn like_follows_the_documented_examples() {
        assert!(like("abcd", "a*c?"));
        assert!(!like("abcd", "A*C?"));
        assert!(!like("abcd", "a*c"));
        assert!(like("a*c", "a\\*c"));
        assert!(!like("abc", "a\\*c"));
    }

    #[test]
    fn cross_products_follow_the_documented_examples() {
        let set = |values: &[&str]| values.iter().map(|value| (*value).to_owned()).collect::<Vec<_>>();
        let op = |text: &str| Operator::parse(text).unwrap();
        assert_eq!(
            compare(op("ForAnyOfAnyValues:StringEquals"), &set(&["red", "blue"]), &set(&["blue", "green"])),
            Some(true)
        );
        assert_eq!(
            compare(op("ForAnyOfAnyValues:StringEquals"), &set(&["red", "blue"]), &set(&["orange", "green"])),
            Some(false)
        );
        assert_eq!(
            compare(
                op("ForAllOfAnyValues:StringEquals"),
                &set(&["red", "blue"]),
                &set(&["orange", "red", "blue"])
            ),
            Some(true)
        );
        assert_eq!(
            compare(op("ForAllOfAnyValues:StringEquals"), &set(&["red", "blue"]), &set(&["red", "green"])),
            Some(false)
        );
        assert_eq!(
            compare(op("ForAnyOfAllValues:NumericLessThan"), &set(&["10", "20"]), &set(&["15", "18"])),
            Some(true)
        );
        assert_eq!(
            compare(op("ForAllOfAllValues:NumericLessThan"), &set(&["10", "20"]), &set(&["5", "15", "18"])),
            Some(false)
        );
        assert_eq!(
            compare(op("ForAllOfAllValues:NumericLessThan"), &set(&["10", "20"]), &set(&["25", "30"])),
            Some(true)
        );
        assert_eq!(
            compare(op("ForAllOfAllValues:NumericLessThan"), &set(&["10", "20"]), &set(&["15", "25", "30"])),
            Some(false)
        );
    }

    #[test]
    fn errors_say_where() {
        let error = parse("@Principal[x] StringContains 'a'").unwrap_err();
        assert_eq!(error.at, 14);
        assert!(error.message.contains("StringContains"), "{error}");
        assert!(parse("(@Principal[x] StringEquals 'a'").unwrap_err().message.contains("`)`"));
        assert!(parse("").is_err());
        assert!(parse("@Principal[x] StringEquals 'a").is_err());
    }
}
