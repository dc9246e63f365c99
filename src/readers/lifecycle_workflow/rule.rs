//! The scope rule of a lifecycle workflow (`executionConditions.scope.rule`
//! of a `ruleBasedSubjectSet`), parsed and evaluated against a user's custom
//! security attributes, so that a plan can say which workflows a
//! deactivation breaks and whom a value change moves into or out of a
//! workflow's scope.
//!
//! Written from Graph's `ruleBasedSubjectSet` page
//! (<https://learn.microsoft.com/graph/api/resources/identitygovernance-rulebasedsubjectset>):
//! a rule is a `$filter` expression over user properties with `eq`, `ne`,
//! `in` and `startsWith`, combined with `and`, `or` and `not`, as in
//! `(department eq 'Marketing') or (not (city eq 'Redmond'))` and
//! `(otherMails/any(p:startsWith(p, 'Av')))`. OData gives `not` precedence
//! over `and`, and `and` over `or`
//! (<https://learn.microsoft.com/graph/filter-query-parameter>).
//!
//! Microsoft's pages disagree on custom security attributes: the Graph page
//! says rules cannot use them; the Entra page "Use custom security
//! attributes to scope a workflow"
//! (<https://learn.microsoft.com/entra/id-governance/manage-workflow-custom-security-attribute>)
//! says workflows can be scoped by them, without showing the rule's text.
//! This module reads a custom security attribute where the rule writes it
//! as Graph's `$filter` on users does, `customSecurityAttributes/<Set>/<Attribute>`
//! (<https://learn.microsoft.com/graph/custom-security-attributes-examples>).
//! A comparison on any other property is about what the tool does not read:
//! the evaluator leaves it unknown. Whether the comparison regards case is
//! not documented: both readings are tried, and a verdict they disagree on
//! is unknown.
//!
//! Pure: text in, values in, verdicts out.

use std::collections::{BTreeMap, BTreeSet};

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare(Comparison),
    /// A part the tool keeps as text: a lambda (`otherMails/any(…)`), a
    /// function on another property.
    Opaque(String),
}

/// `<property> eq|ne <literal>`, `<property> in (<literals>)`, or
/// `startsWith(<property>, <literal>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The property path as written (`department`, `customSecurityAttributes/Hr/PayGrade`).
    pub property: String,
    pub operator: Operator,
    pub literals: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    Eq,
    Ne,
    In,
    StartsWith,
}

impl Operator {
    pub const ALL: [Operator; 4] = [Operator::Eq, Operator::Ne, Operator::In, Operator::StartsWith];

    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::In => "in",
            Operator::StartsWith => "startsWith",
        }
    }
}

impl Comparison {
    /// The definition id (`Hr_PayGrade`) when the property is a custom
    /// security attribute.
    pub fn custom_security_attribute(&self) -> Option<String> {
        custom_security_attribute(&self.property)
    }
}

/// `customSecurityAttributes/<Set>/<Attribute>` (any case, `/` or `.`
/// between the parts) as a definition id `<Set>_<Attribute>`.
pub fn custom_security_attribute(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split(['/', '.']).collect();
    match parts.as_slice() {
        [head, set, attribute]
            if head.eq_ignore_ascii_case("customSecurityAttributes")
                && !set.is_empty()
                && !attribute.is_empty() =>
        {
            Some(crate::model::definition_id(set, attribute))
        }
        _ => None,
    }
}

/// Every `customSecurityAttributes/<Set>/<Attribute>` in a text (a trigger
/// attribute's name, a task argument such as
/// `User/customSecurityAttributes/{attributeSet}/{attributeName}`), as
/// definition ids.
pub fn scan(text: &str) -> Vec<String> {
    const HEAD: &str = "customsecurityattributes";
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = lower[from..].find(HEAD) {
        let start = from + offset;
        from = start + HEAD.len();
        let rest = &text[start..];
        let end =
            rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.'))).unwrap_or(rest.len());
        let path: Vec<&str> = rest[..end].splitn(4, ['/', '.']).take(3).collect();
        if let [_, _, _] = path.as_slice()
            && let Some(id) = custom_security_attribute(&path.join("/"))
        {
            found.push(id);
        }
    }
    found
}

pub use crate::readers::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Comma,
    Quoted(String),
    Word(String),
    /// `name(…)` kept whole when it is a lambda such as `any(p:…)`.
    Lambda(String),
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let mut found = Vec::new();
    let characters: Vec<(usize, char)> = text.char_indices().collect();
    let mut index = 0;
    while index < characters.len() {
        let (at, character) = characters[index];
        match character {
            c if c.is_whitespace() => index += 1,
            '(' => {
                found.push((at, Token::Open));
                index += 1;
            }
            ')' => {
                found.push((at, Token::Close));
                index += 1;
            }
            ',' => {
                found.push((at, Token::Comma));
                index += 1;
            }
            '\'' => {
                // OData doubles a quote inside a string: 'O''Brien'.
                let mut value = String::new();
                index += 1;
                loop {
                    match characters.get(index) {
                        None => {
                            return Err(ParseError {
                                at,
                                message: "a quoted value is not closed with '".into(),
                            });
                        }
                        Some((_, '\'')) if characters.get(index + 1).is_some_and(|(_, c)| *c == '\'') => {
                            value.push('\'');
                            index += 2;
                        }
                        Some((_, '\'')) => {
                            index += 1;
                            break;
                        }
                        Some((_, c)) => {
                            value.push(*c);
                            index += 1;
                        }
                    }
                }
                found.push((at, Token::Quoted(value)));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | '$' | ':') => {
                while index < characters.len()
                    && (characters[index].1.is_alphanumeric()
                        || matches!(characters[index].1, '_' | '/' | '.' | '-' | '$' | ':'))
                {
                    index += 1;
                }
                let end = characters.get(index).map_or(text.len(), |(offset, _)| *offset);
                let word = &text[at..end];
                // `otherMails/any(p:…)`: a lambda, kept whole to its closing parenthesis.
                let lower = word.to_ascii_lowercase();
                if (lower.ends_with("/any") || lower.ends_with("/all"))
                    && characters.get(index).is_some_and(|(_, c)| *c == '(')
                {
                    let mut depth = 0;
                    while index < characters.len() {
                        match characters[index].1 {
                            '(' => depth += 1,
                            ')' => {
                                depth -= 1;
                                if depth == 0 {
                                    index += 1;
                                    break;
                                }
                            }
                            _ => {}
                        }
                        index += 1;
                    }
                    if depth != 0 {
                        return Err(ParseError { at, message: "a lambda is not closed with )".into() });
                    }
                    let end = characters.get(index).map_or(text.len(), |(offset, _)| *offset);
                    found.push((at, Token::Lambda(text[at..end].to_owned())));
                } else {
                    found.push((at, Token::Word(word.to_owned())));
                }
            }
            other => return Err(ParseError { at, message: format!("unexpected `{other}`") }),
        }
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

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(found)) if found.eq_ignore_ascii_case(word))
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            at: self.tokens.get(self.next).map_or(self.end, |(at, _)| *at),
            message: message.into(),
        })
    }

    fn expect(&mut self, wanted: &Token, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(wanted) {
            self.next += 1;
            Ok(())
        } else {
            self.error(format!("expected {what}"))
        }
    }

    fn or(&mut self) -> Result<Rule, ParseError> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.next += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::Or(parts) })
    }

    fn and(&mut self) -> Result<Rule, ParseError> {
        let mut parts = vec![self.unary()?];
        while self.peek_word("and") {
            self.next += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::And(parts) })
    }

    fn unary(&mut self) -> Result<Rule, ParseError> {
        if self.peek_word("not") {
            self.next += 1;
            return Ok(Rule::Not(Box::new(self.unary()?)));
        }
        match self.peek().cloned() {
            Some(Token::Open) => {
                self.next += 1;
                let inner = self.or()?;
                self.expect(&Token::Close, "`)`")?;
                Ok(inner)
            }
            Some(Token::Lambda(text)) => {
                self.next += 1;
                // `otherMails/any(p:p eq 'x')` may be compared no further.
                Ok(Rule::Opaque(text))
            }
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("startsWith") => {
                self.next += 1;
                self.expect(&Token::Open, "`(` after startsWith")?;
                let Some(Token::Word(property)) = self.peek().cloned() else {
                    return self.error("expected a property");
                };
                self.next += 1;
                self.expect(&Token::Comma, "`,`")?;
                let literal = self.literal()?;
                self.expect(&Token::Close, "`)`")?;
                Ok(Rule::Compare(Comparison {
                    property,
                    operator: Operator::StartsWith,
                    literals: vec![literal],
                }))
            }
            Some(Token::Word(property)) => {
                self.next += 1;
                let Some(Token::Word(operator)) = self.peek().cloned() else {
                    return self.error("expected eq, ne or in");
                };
                let operator = match operator.to_ascii_lowercase().as_str() {
                    "eq" => Operator::Eq,
                    "ne" => Operator::Ne,
                    "in" => Operator::In,
                    _ => {
                        return self
                            .error(format!("`{operator}` is not an operator lifecycle workflows document"));
                    }
                };
                self.next += 1;
                let literals = if operator == Operator::In {
                    self.expect(&Token::Open, "`(` after in")?;
                    let mut literals = vec![self.literal()?];
                    while self.peek() == Some(&Token::Comma) {
                        self.next += 1;
                        literals.push(self.literal()?);
                    }
                    self.expect(&Token::Close, "`)`")?;
                    literals
                } else {
                    vec![self.literal()?]
                };
                Ok(Rule::Compare(Comparison { property, operator, literals }))
            }
            _ => self.error("expected a comparison such as (department eq 'Sales')"),
        }
    }

    fn literal(&mut self) -> Result<String, ParseError> {
        match self.peek().cloned() {
            Some(Token::Quoted(value)) => {
                self.next += 1;
                Ok(value)
            }
            Some(Token::Word(word)) => {
                self.next += 1;
                Ok(word)
            }
            _ => self.error("expected a value"),
        }
    }
}

/// Parses a scope rule.
pub fn parse(text: &str) -> Result<Rule, ParseError> {
    let tokens = tokens(text)?;
    if tokens.is_empty() {
        return Err(ParseError { at: 0, message: "the rule is empty".into() });
    }
    let mut parser = Parser { tokens, next: 0, end: text.len() };
    let rule = parser.or()?;
    if parser.next < parser.tokens.len() {
        return parser.error("unexpected text after the end of the rule");
    }
    Ok(rule)
}

impl Rule {
    /// Every comparison on a custom security attribute, with its definition id.
    pub fn named(&self) -> Vec<(String, &Comparison)> {
        let mut found = Vec::new();
        self.visit(&mut |comparison| {
            if let Some(id) = comparison.custom_security_attribute() {
                found.push((id, comparison));
            }
        });
        found
    }

    fn visit<'a>(&'a self, visit: &mut dyn FnMut(&'a Comparison)) {
        match self {
            Rule::And(parts) | Rule::Or(parts) => parts.iter().for_each(|part| part.visit(visit)),
            Rule::Not(inner) => inner.visit(visit),
            Rule::Compare(comparison) => visit(comparison),
            Rule::Opaque(_) => {}
        }
    }
}

/// What a user holds of one attribute: `None` when it holds nothing.
pub type Values<'a> = &'a dyn Fn(&str) -> Option<Vec<String>>;

/// How a change of a user's values moves it against a workflow's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Unchanged,
    Enters,
    Leaves,
    /// The reason completes "impact unknown: …".
    Unknown(String),
}

const MAX_UNKNOWNS: usize = 12;

/// The verdict of a change of a user's values (`before` → `after`): every
/// part about another property is tried both ways (it is the same before
/// and after), under both readings of case.
pub fn verdict(rule: &Rule, before: Values<'_>, after: Values<'_>) -> Verdict {
    let mut unknowns = BTreeSet::new();
    let mut reasons = BTreeSet::new();
    collect_unknowns(rule, &mut unknowns, &mut reasons);
    let unknowns: Vec<String> = unknowns.into_iter().collect();
    if unknowns.len() > MAX_UNKNOWNS {
        return Verdict::Unknown(format!(
            "the rule has more than {MAX_UNKNOWNS} parts the tool cannot settle"
        ));
    }
    let mut outcomes = BTreeSet::new();
    for case_sensitive in [true, false] {
        for combination in 0u32..(1 << unknowns.len()) {
            let assumed: BTreeMap<&str, bool> = unknowns
                .iter()
                .enumerate()
                .map(|(bit, unknown)| (unknown.as_str(), combination & (1 << bit) != 0))
                .collect();
            let was = evaluate(rule, before, case_sensitive, &assumed);
            let is = evaluate(rule, after, case_sensitive, &assumed);
            outcomes.insert((was, is));
        }
    }
    let moved: BTreeSet<(bool, bool)> = outcomes.iter().copied().filter(|(was, is)| was != is).collect();
    let why = || {
        if reasons.is_empty() {
            "whether the attribute's values compare with regard to case is not documented".to_owned()
        } else {
            format!("it also depends on {}", reasons.iter().cloned().collect::<Vec<_>>().join(", "))
        }
    };
    if moved.is_empty() {
        Verdict::Unchanged
    } else if outcomes.len() == 1 && moved.contains(&(false, true)) {
        Verdict::Enters
    } else if outcomes.len() == 1 && moved.contains(&(true, false)) {
        Verdict::Leaves
    } else {
        Verdict::Unknown(why())
    }
}

fn collect_unknowns(rule: &Rule, unknowns: &mut BTreeSet<String>, reasons: &mut BTreeSet<String>) {
    match rule {
        Rule::And(parts) | Rule::Or(parts) => {
            parts.iter().for_each(|part| collect_unknowns(part, unknowns, reasons))
        }
        Rule::Not(inner) => collect_unknowns(inner, unknowns, reasons),
        Rule::Opaque(text) => {
            unknowns.insert(text.clone());
            reasons.insert(format!("`{text}`"));
        }
        Rule::Compare(comparison) if comparison.custom_security_attribute().is_none() => {
            unknowns.insert(format!("{comparison:?}"));
            reasons.insert(format!("the user's {}", comparison.property));
        }
        Rule::Compare(_) => {}
    }
}

fn evaluate(rule: &Rule, values: Values<'_>, case_sensitive: bool, assumed: &BTreeMap<&str, bool>) -> bool {
    let recurse = |part: &Rule| evaluate(part, values, case_sensitive, assumed);
    match rule {
        Rule::And(parts) => parts.iter().all(recurse),
        Rule::Or(parts) => parts.iter().any(recurse),
        Rule::Not(inner) => !recurse(inner),
        Rule::Opaque(text) => assumed.get(text.as_str()).copied().unwrap_or(false),
        Rule::Compare(comparison) => match comparison.custom_security_attribute() {
            None => assumed.get(format!("{comparison:?}").as_str()).copied().unwrap_or(false),
            Some(id) => {
                let fold = |text: &str| if case_sensitive { text.to_owned() } else { text.to_lowercase() };
                let held: Vec<String> =
                    values(&id).unwrap_or_default().iter().map(|value| fold(value)).collect();
                let literals: Vec<String> = comparison.literals.iter().map(|literal| fold(literal)).collect();
                // A user without the attribute matches no eq, in or
                // startsWith, and every ne, as Graph's $filter reads null.
                match comparison.operator {
                    Operator::Eq | Operator::In => held.iter().any(|value| literals.contains(value)),
                    Operator::Ne => !held.iter().any(|value| literals.contains(value)),
                    Operator::StartsWith => held
                        .iter()
                        .any(|value| literals.iter().any(|literal| value.starts_with(literal.as_str()))),
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held<'a>(pairs: &'a [(&'a str, &'a [&'a str])]) -> impl Fn(&str) -> Option<Vec<String>> + 'a {
        move |id: &str| {
            pairs
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(id))
                .map(|(_, values)| values.iter().map(|value| (*value).to_owned()).collect())
        }
    }

    #[test]
    fn the_documented_examples_parse() {
        for rule in [
            "(department eq 'Marketing')",
            "(department ne 'Marketing')",
            "(department in ('Marketing'))",
            "(accountEnabled eq true)",
            "(employeeOrgData/costCenter eq '100')",
            "(otherMails/any(p:startsWith(p, 'Av')))",
            "(department eq 'Marketing') and (accountEnabled in (true))",
            "(department eq 'Marketing') or (not (city eq 'Redmond'))",
        ] {
            let parsed = parse(rule).unwrap_or_else(|error| panic!("{rule}: {error}"));
            assert!(parsed.named().is_empty(), "{rule}");
        }
    }

    #[test]
    fn a_custom_security_attribute_is_read_and_evaluated() {
        let rule =
            parse("(department eq 'Engineering') and (customSecurityAttributes/Hr/PayGrade in ('G7', 'G8'))")
                .unwrap();
        let named = rule.named();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].0, "Hr_PayGrade");
        assert_eq!(named[0].1.literals, ["G7", "G8"]);
        let g6 = held(&[("Hr_PayGrade", &["G6"])]);
        let g7 = held(&[("Hr_PayGrade", &["G7"])]);
        let g8 = held(&[("Hr_PayGrade", &["G8"])]);
        // The department is unknown, so entering depends on it.
        assert!(
            matches!(verdict(&rule, &g6, &g7), Verdict::Unknown(reason) if reason.contains("department"))
        );
        assert_eq!(verdict(&rule, &g7, &g8), Verdict::Unchanged);
        let alone = parse("customSecurityAttributes/Hr/PayGrade eq 'G7'").unwrap();
        assert_eq!(verdict(&alone, &g6, &g7), Verdict::Enters);
        assert_eq!(verdict(&alone, &g7, &g6), Verdict::Leaves);
        let upper = held(&[("Hr_PayGrade", &["g7"])]);
        assert!(matches!(verdict(&alone, &g6, &upper), Verdict::Unknown(_)));
    }

    #[test]
    fn not_binds_tighter_than_and_and_and_than_or() {
        let rule = parse("not a eq '1' and b eq '2' or c eq '3'").unwrap();
        let compare = |property: &str, literal: &str| {
            Rule::Compare(Comparison {
                property: property.into(),
                operator: Operator::Eq,
                literals: vec![literal.into()],
            })
        };
        assert_eq!(
            rule,
            Rule::Or(vec![
                Rule::And(vec![Rule::Not(Box::new(compare("a", "1"))), compare("b", "2")]),
                compare("c", "3")
            ])
        );
    }

    #[test]
    fn texts_name_attributes_wherever_they_are_written() {
        assert_eq!(scan("User/customSecurityAttributes/Hr/ManagerMail"), ["Hr_ManagerMail"]);
        assert_eq!(scan("CustomSecurityAttributes.Hr.PayGrade"), ["Hr_PayGrade"]);
        assert_eq!(scan("department"), Vec::<String>::new());
        assert_eq!(scan("customSecurityAttributes/{attributeSet}/{attributeName}"), Vec::<String>::new());
    }

    #[test]
    fn quotes_double_inside_a_value() {
        let rule = parse("customSecurityAttributes/Hr/Name eq 'O''Brien'").unwrap();
        assert_eq!(rule.named()[0].1.literals, ["O'Brien"]);
        assert!(parse("department eq 'x").is_err());
        assert!(parse("department gt 'x'").unwrap_err().message.contains("gt"));
    }
}
