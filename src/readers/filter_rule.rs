//! The rule of a Conditional Access filter that reads custom security
//! attributes (`conditions.applications.applicationFilter`, and the
//! `clientApplications` filters that pick service principals and agent
//! identities), parsed and evaluated, so that a plan can say which apps a
//! change of values moves into or out of a policy's scope.
//!
//! What Microsoft documents, and what this module takes from it:
//! - Graph's `conditionalAccessFilter.rule`: "Rule syntax is similar to the one
//!   used for membership rules for groups in Microsoft Entra ID", with `mode`
//!   `include` or `exclude`
//!   (<https://learn.microsoft.com/graph/api/resources/conditionalaccessfilter>).
//! - "Conditional Access filters for applications only work with custom
//!   security attributes of type `string`"
//!   (<https://learn.microsoft.com/entra/identity/conditional-access/concept-filter-for-applications>);
//!   the attribute is written `CustomSecurityAttribute.<Set>_<Attribute>`, the
//!   definition id, as in `CustomSecurityAttribute.Access_Tier -eq "Tier0"`.
//! - The operators Conditional Access filters accept, each written with a
//!   hyphen: `-eq`, `-ne`, `-startsWith`, `-notStartsWith`, `-endsWith`,
//!   `-notEndsWith`, `-contains`, `-notContains`, `-in`, `-notIn`, the last
//!   two with a list `["a", "b"]`; on a multi-valued attribute `-contains`
//!   "indicates whether a specified string matches one of the whole strings
//!   in the collection"; a rule is at most 3,072 characters; and a property
//!   without a value counts as null, so a positive operator does not match it
//!   and a negative one does
//!   (<https://learn.microsoft.com/entra/identity/conditional-access/concept-condition-filters-for-devices>,
//!   "Supported operators and device properties for filters").
//! - From the membership-rule syntax, "Rules with multiple expressions"
//!   (<https://learn.microsoft.com/entra/identity/users/groups-dynamic-membership#rules-with-multiple-expressions>):
//!   the logical operators `-and`, `-or` and `-not`, with the precedence
//!   "from highest to lowest": the comparisons, then `-not`, then `-and`,
//!   then `-or`; parentheses group; operators "with or without the hyphen
//!   (-) prefix"; string values in double quotes, a double quote inside one
//!   escaped with a backtick (`` `" ``).
//!
//! Everything else (`-match`, `-any`/`-all`, `$null`, single quotes, another
//! property than a custom security attribute) is a parse error, and the plan
//! calls the policy's impact unknown rather than guess. Whether Conditional
//! Access compares values with regard to letter case is not documented (the
//! group-rule page says its own string operations are not case sensitive):
//! a rule is evaluated under each reading ([`Rule::evaluate_with`]) and the
//! caller decides what to make of readings that disagree.
//!
//! Pure: text in, values in, verdicts out.

use std::fmt;

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Any of the parts holds (two or more).
    Or(Vec<Rule>),
    /// Every part holds (two or more).
    And(Vec<Rule>),
    /// The part does not hold (`-not`).
    Not(Box<Rule>),
    Compare(Comparison),
}

/// `CustomSecurityAttribute.<id> <operator> <operand>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The definition id as the rule writes it (`Access_Tier`).
    pub attribute: String,
    pub operator: Operator,
    pub operand: Operand,
}

/// The documented operators of Conditional Access filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
}

impl Operator {
    pub const ALL: [Operator; 10] = [
        Operator::Eq,
        Operator::Ne,
        Operator::StartsWith,
        Operator::NotStartsWith,
        Operator::EndsWith,
        Operator::NotEndsWith,
        Operator::Contains,
        Operator::NotContains,
        Operator::In,
        Operator::NotIn,
    ];

    /// As the docs write it, without the hyphen.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::StartsWith => "startsWith",
            Operator::NotStartsWith => "notStartsWith",
            Operator::EndsWith => "endsWith",
            Operator::NotEndsWith => "notEndsWith",
            Operator::Contains => "contains",
            Operator::NotContains => "notContains",
            Operator::In => "in",
            Operator::NotIn => "notIn",
        }
    }

    fn from_word(word: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|operator| operator.name().eq_ignore_ascii_case(word))
    }

    /// Whether the operator says "not": it matches a property with no value.
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            Operator::Ne
                | Operator::NotStartsWith
                | Operator::NotEndsWith
                | Operator::NotContains
                | Operator::NotIn
        )
    }

    /// Whether the operand is a list (`-in`, `-notIn`).
    pub fn takes_list(self) -> bool {
        matches!(self, Operator::In | Operator::NotIn)
    }
}

/// What an operator compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    One(String),
    List(Vec<String>),
}

pub use super::ParseError;

/// Microsoft's limit on a filter rule's length ("The maximum length for the
/// filter rule is 3072 characters", `concept-condition-filters-for-devices.md`).
pub const MAX_RULE_LENGTH: usize = 3072;

/// The prefix of every custom security attribute in a rule.
const PREFIX: &str = "CustomSecurityAttribute.";

/// Parses `text` as a filter rule.
pub fn parse(text: &str) -> Result<Rule, ParseError> {
    let length = text.chars().count();
    if length > MAX_RULE_LENGTH {
        return Err(ParseError {
            at: MAX_RULE_LENGTH,
            message: format!("the rule has {length} characters; Conditional Access takes {MAX_RULE_LENGTH}"),
        });
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0, end: length };
    if parser.tokens.is_empty() {
        return Err(ParseError { at: 0, message: "the rule is empty".into() });
    }
    let rule = parser.or()?;
    match parser.peek() {
        None => Ok(rule),
        Some(token) => Err(ParseError {
            at: token.at,
            message: format!(
                "expected `-and`, `-or` or the end of the rule, found {}",
                token.kind.describe()
            ),
        }),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Text(String),
    /// A word, with its hyphen if it had one (`-eq`, `and`, `CustomSecurityAttribute.A_B`).
    Word(String),
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::Open => "`(`".into(),
            TokenKind::Close => "`)`".into(),
            TokenKind::OpenList => "`[`".into(),
            TokenKind::CloseList => "`]`".into(),
            TokenKind::Comma => "`,`".into(),
            TokenKind::Text(text) => format!("the string \"{text}\""),
            TokenKind::Word(word) => format!("`{word}`"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    at: usize,
    kind: TokenKind,
}

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let at = index;
        let single = match c {
            '(' => Some(TokenKind::Open),
            ')' => Some(TokenKind::Close),
            '[' => Some(TokenKind::OpenList),
            ']' => Some(TokenKind::CloseList),
            ',' => Some(TokenKind::Comma),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token { at, kind });
            index += 1;
        } else if c.is_whitespace() {
            index += 1;
        } else if c == '"' {
            let mut value = String::new();
            index += 1;
            loop {
                match chars.get(index) {
                    None => {
                        return Err(ParseError { at, message: "a string is not closed with `\"`".into() });
                    }
                    Some('"') => {
                        index += 1;
                        break;
                    }
                    Some('`') => match chars.get(index + 1) {
                        Some(escaped @ ('"' | '`')) => {
                            value.push(*escaped);
                            index += 2;
                        }
                        _ => {
                            return Err(ParseError {
                                at: index,
                                message: "a backtick in a string escapes only `\"` or another backtick"
                                    .into(),
                            });
                        }
                    },
                    Some(other) => {
                        value.push(*other);
                        index += 1;
                    }
                }
            }
            tokens.push(Token { at, kind: TokenKind::Text(value) });
        } else if c == '-' || c.is_alphanumeric() || c == '_' {
            let start = index;
            index += 1;
            while chars.get(index).is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.')) {
                index += 1;
            }
            tokens.push(Token { at, kind: TokenKind::Word(chars[start..index].iter().collect()) });
        } else {
            let hint = match c {
                '\'' => " (string values are written in double quotes)",
                '$' => " (`$null` is not a value Conditional Access filters take)",
                _ => "",
            };
            return Err(ParseError { at, message: format!("unexpected `{c}`{hint}") });
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// Where the text ends, for errors at the end.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |token| token.at)
    }

    /// Takes the connective `word` (`and`, `or`, with or without a hyphen).
    fn connective(&mut self, word: &str) -> bool {
        let matches = matches!(self.peek(), Some(Token { kind: TokenKind::Word(found), .. })
            if found.strip_prefix('-').unwrap_or(found).eq_ignore_ascii_case(word));
        if matches {
            self.next += 1;
        }
        matches
    }

    fn or(&mut self) -> Result<Rule, ParseError> {
        let mut parts = vec![self.and()?];
        while self.connective("or") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::Or(parts) })
    }

    fn and(&mut self) -> Result<Rule, ParseError> {
        let mut parts = vec![self.not()?];
        while self.connective("and") {
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Rule::And(parts) })
    }

    /// `-not` binds tighter than `-and` and looser than a comparison: `-not
    /// A -eq "x" -and B -eq "y"` is `(-not (A -eq "x")) -and (B -eq "y")`.
    fn not(&mut self) -> Result<Rule, ParseError> {
        if self.connective("not") { Ok(Rule::Not(Box::new(self.not()?))) } else { self.primary() }
    }

    fn primary(&mut self) -> Result<Rule, ParseError> {
        let at = self.here();
        match self.take() {
            Some(Token { kind: TokenKind::Open, .. }) => {
                let inner = self.or()?;
                let close_at = self.here();
                match self.take() {
                    Some(Token { kind: TokenKind::Close, .. }) => Ok(inner),
                    other => Err(self.expected("`)`", other, close_at)),
                }
            }
            Some(Token { kind: TokenKind::Word(word), at }) => {
                let attribute = attribute_of(&word).map_err(|message| ParseError { at, message })?;
                let operator = self.operator()?;
                let operand = self.operand(operator)?;
                Ok(Rule::Compare(Comparison { attribute, operator, operand }))
            }
            other => Err(self.expected("`CustomSecurityAttribute.<Set>_<Attribute>` or `(`", other, at)),
        }
    }

    fn operator(&mut self) -> Result<Operator, ParseError> {
        let at = self.here();
        match self.take() {
            Some(Token { kind: TokenKind::Word(word), at }) => {
                let bare = word.strip_prefix('-').unwrap_or(&word);
                Operator::from_word(bare).ok_or_else(|| ParseError {
                    at,
                    message: format!("`{word}` is not an operator Conditional Access filters take"),
                })
            }
            other => Err(self.expected("an operator such as `-eq`", other, at)),
        }
    }

    fn operand(&mut self, operator: Operator) -> Result<Operand, ParseError> {
        let at = self.here();
        if operator.takes_list() {
            match self.take() {
                Some(Token { kind: TokenKind::OpenList, .. }) => {}
                other => return Err(self.expected("a list such as `[\"a\", \"b\"]`", other, at)),
            }
            let mut values = Vec::new();
            loop {
                let at = self.here();
                match self.take() {
                    Some(Token { kind: TokenKind::Text(value), .. }) => values.push(value),
                    other => return Err(self.expected("a string in double quotes", other, at)),
                }
                let at = self.here();
                match self.take() {
                    Some(Token { kind: TokenKind::Comma, .. }) => {}
                    Some(Token { kind: TokenKind::CloseList, .. }) => return Ok(Operand::List(values)),
                    other => return Err(self.expected("`,` or `]`", other, at)),
                }
            }
        }
        match self.take() {
            Some(Token { kind: TokenKind::Text(value), .. }) => Ok(Operand::One(value)),
            other => Err(self.expected("a string in double quotes", other, at)),
        }
    }

    fn expected(&self, what: &str, found: Option<Token>, at: usize) -> ParseError {
        match found {
            Some(token) => ParseError {
                at: token.at,
                message: format!("expected {what}, found {}", token.kind.describe()),
            },
            None => ParseError {
                at: at.min(self.end),
                message: format!("expected {what}, found the end of the rule"),
            },
        }
    }
}

/// The definition id of `CustomSecurityAttribute.<Set>_<Attribute>`.
fn attribute_of(word: &str) -> Result<String, String> {
    let starts = word.get(..PREFIX.len()).is_some_and(|head| head.eq_ignore_ascii_case(PREFIX));
    if !starts {
        return Err(format!(
            "`{word}` is not a custom security attribute; an application filter reads \
             `CustomSecurityAttribute.<Set>_<Attribute>`"
        ));
    }
    let id = &word[PREFIX.len()..];
    let well_formed =
        id.split_once('_').is_some_and(|(set, attribute)| !set.is_empty() && !attribute.is_empty())
            && !id.contains('.');
    if well_formed {
        Ok(id.to_owned())
    } else {
        Err(format!("expected `CustomSecurityAttribute.<Set>_<Attribute>`, found `{word}`"))
    }
}

impl Rule {
    /// Every comparison, in the order written.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut found = Vec::new();
        self.collect(&mut found);
        found
    }

    fn collect<'a>(&'a self, found: &mut Vec<&'a Comparison>) {
        match self {
            Rule::Or(parts) | Rule::And(parts) => parts.iter().for_each(|part| part.collect(found)),
            Rule::Not(part) => part.collect(found),
            Rule::Compare(comparison) => found.push(comparison),
        }
    }

    /// Whether the rule matches a principal whose values `held` gives, with
    /// comparisons that regard letter case or not (`case_sensitive`): one
    /// reading of what Microsoft leaves open. `Unknown` only where a
    /// comparison is not documented for the value (a collection read by
    /// `-eq`, a number).
    pub fn evaluate_with<'a>(&self, held: &dyn Fn(&str) -> Held<'a>, case_sensitive: bool) -> Truth {
        match self {
            Rule::Or(parts) => parts
                .iter()
                .fold(Truth::False, |truth, part| truth.or(part.evaluate_with(held, case_sensitive))),
            Rule::And(parts) => parts
                .iter()
                .fold(Truth::True, |truth, part| truth.and(part.evaluate_with(held, case_sensitive))),
            Rule::Not(part) => part.evaluate_with(held, case_sensitive).not(),
            Rule::Compare(comparison) => {
                comparison.evaluate_with_case(&held(&comparison.attribute), case_sensitive)
            }
        }
    }

    /// Whether the rule matches a principal whose values `held` gives, by
    /// definition id (compared without regard to case by the caller), under
    /// every reading of letter case: `Unknown` when the readings disagree.
    pub fn evaluate<'a>(&self, held: &dyn Fn(&str) -> Held<'a>) -> Truth {
        let sensitive = self.evaluate_with(held, true);
        let insensitive = self.evaluate_with(held, false);
        if sensitive == insensitive { sensitive } else { Truth::Unknown }
    }
}

/// What a principal holds in one attribute, as a rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held<'a> {
    /// Nothing assigned: null.
    Absent,
    Text(&'a str),
    Texts(&'a [String]),
    /// A value a filter does not read (Integer, Boolean).
    NotText,
}

/// A three-valued verdict: a rule the tool cannot settle is `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn of(value: bool) -> Truth {
        if value { Truth::True } else { Truth::False }
    }

    fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }
}

impl Comparison {
    fn evaluate_with_case(&self, held: &Held<'_>, case_sensitive: bool) -> Truth {
        let text = Text { case_sensitive };
        let negative = self.operator.is_negative();
        match (held, &self.operand) {
            (Held::Absent, _) => Truth::of(negative),
            (Held::NotText, _) => Truth::Unknown,
            (Held::Text(value), Operand::One(literal)) => {
                let positive = match self.operator {
                    Operator::Eq | Operator::Ne => text.equal(value, literal),
                    Operator::StartsWith | Operator::NotStartsWith => text.starts_with(value, literal),
                    Operator::EndsWith | Operator::NotEndsWith => text.ends_with(value, literal),
                    Operator::Contains | Operator::NotContains => text.contains(value, literal),
                    Operator::In | Operator::NotIn => return Truth::Unknown,
                };
                Truth::of(positive != negative)
            }
            (Held::Text(value), Operand::List(list)) => {
                let positive = list.iter().any(|item| text.equal(value, item));
                Truth::of(positive != negative)
            }
            // On a collection, only `-contains`/`-notContains` are documented:
            // whether one member equals the string.
            (Held::Texts(values), Operand::One(literal))
                if matches!(self.operator, Operator::Contains | Operator::NotContains) =>
            {
                let positive = values.iter().any(|value| text.equal(value, literal));
                Truth::of(positive != negative)
            }
            (Held::Texts(_), _) => Truth::Unknown,
        }
    }
}

/// Text comparisons with or without regard to case; ASCII text (the usual
/// case) is compared without allocating.
#[derive(Clone, Copy)]
struct Text {
    case_sensitive: bool,
}

impl Text {
    fn folded(self, text: &str) -> std::borrow::Cow<'_, str> {
        if self.case_sensitive { text.into() } else { text.to_lowercase().into() }
    }

    fn ascii(self, a: &str, b: &str) -> bool {
        !self.case_sensitive && a.is_ascii() && b.is_ascii()
    }

    fn equal(self, value: &str, literal: &str) -> bool {
        if self.case_sensitive {
            value == literal
        } else if self.ascii(value, literal) {
            value.eq_ignore_ascii_case(literal)
        } else {
            self.folded(value) == self.folded(literal)
        }
    }

    fn starts_with(self, value: &str, literal: &str) -> bool {
        if self.ascii(value, literal) {
            value.len() >= literal.len()
                && value.as_bytes()[..literal.len()].eq_ignore_ascii_case(literal.as_bytes())
        } else {
            self.folded(value).starts_with(self.folded(literal).as_ref())
        }
    }

    fn ends_with(self, value: &str, literal: &str) -> bool {
        if self.ascii(value, literal) {
            value.len() >= literal.len()
                && value.as_bytes()[value.len() - literal.len()..].eq_ignore_ascii_case(literal.as_bytes())
        } else {
            self.folded(value).ends_with(self.folded(literal).as_ref())
        }
    }

    fn contains(self, value: &str, literal: &str) -> bool {
        self.folded(value).contains(self.folded(literal).as_ref())
    }
}

/// Writes the rule in one canonical form: hyphenated operators as the docs
/// spell them, ` -and `/` -or `, parentheses around every compound part.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = |f: &mut fmt::Formatter<'_>, parts: &[Rule], connective: &str| -> fmt::Result {
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    write!(f, " {connective} ")?;
                }
                match part {
                    Rule::Compare(_) | Rule::Not(_) => write!(f, "{part}")?,
                    _ => write!(f, "({part})")?,
                }
            }
            Ok(())
        };
        match self {
            Rule::Or(parts) => joined(f, parts, "-or"),
            Rule::And(parts) => joined(f, parts, "-and"),
            Rule::Not(part) => match part.as_ref() {
                Rule::Compare(_) | Rule::Not(_) => write!(f, "-not {part}"),
                _ => write!(f, "-not ({part})"),
            },
            Rule::Compare(comparison) => {
                write!(f, "{PREFIX}{} -{} ", comparison.attribute, comparison.operator.name())?;
                match &comparison.operand {
                    Operand::One(value) => write!(f, "{}", quoted(value)),
                    Operand::List(values) => {
                        let items: Vec<String> = values.iter().map(|value| quoted(value)).collect();
                        write!(f, "[{}]", items.join(", "))
                    }
                }
            }
        }
    }
}

fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('`', "``").replace('"', "`\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(attribute: &str, operator: Operator, value: &str) -> Rule {
        Rule::Compare(Comparison {
            attribute: attribute.into(),
            operator,
            operand: Operand::One(value.into()),
        })
    }

    /// Every rule Microsoft's pages show for a custom security attribute in a
    /// Conditional Access filter, quoted, parses to what it says.
    #[test]
    fn documented_rules_parse() {
        // concept-filter-for-applications.md: the policy built in the portal,
        // "Attribute policyRequirement, Operator Contains, Value requireMFA".
        assert_eq!(
            parse(
                r#"CustomSecurityAttribute.ConditionalAccessTest_policyRequirement -contains "requireMFA""#
            ),
            Ok(compare("ConditionalAccessTest_policyRequirement", Operator::Contains, "requireMFA"))
        );
        // A Tier0 rule, written as the Graph reference writes filter rules.
        assert_eq!(
            parse(r#"CustomSecurityAttribute.Security_AppTier -eq "Tier0""#),
            Ok(compare("Security_AppTier", Operator::Eq, "Tier0"))
        );
        // The device-filter page's rules, with the attribute in place of the
        // device property: each operator and the list form.
        for (rule, operator) in [
            (r#"(CustomSecurityAttribute.A_B -eq "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb")"#, Operator::Eq),
            (r#"(CustomSecurityAttribute.A_B -contains "ABC")"#, Operator::Contains),
            (r#"(CustomSecurityAttribute.A_B -startsWith "AutoPilot Profile")"#, Operator::StartsWith),
            (r#"(CustomSecurityAttribute.A_B -notContains "Surface")"#, Operator::NotContains),
            (r#"CustomSecurityAttribute.A_B -ne "SAW""#, Operator::Ne),
        ] {
            let parsed = parse(rule).unwrap_or_else(|error| panic!("{rule}: {error}"));
            assert_eq!(parsed.comparisons()[0].operator, operator, "{rule}");
        }
        assert_eq!(
            parse(r#"(CustomSecurityAttribute.A_B -in ["10.0.18363", "10.0.19041", "10.0.19042", "10.0.22000"])"#)
                .unwrap()
                .comparisons()[0]
                .operand,
            Operand::List(vec!["10.0.18363".into(), "10.0.19041".into(), "10.0.19042".into(), "10.0.22000".into()])
        );
        // groups-dynamic-membership.md's multi-expression rules.
        let both = parse(r#"(CustomSecurityAttribute.A_Dept -eq "Sales") -or (CustomSecurityAttribute.A_Dept -eq "Marketing")"#)
            .unwrap();
        assert!(matches!(&both, Rule::Or(parts) if parts.len() == 2), "{both:?}");
        let and = parse(
            r#"CustomSecurityAttribute.A_Dept –eq "Marketing" -and CustomSecurityAttribute.A_Country -eq "US""#,
        );
        // The page's en dash (`–eq`) is not a hyphen: refused, so never guessed.
        assert!(and.is_err());
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_regroup() {
        let a = || compare("S_A", Operator::Eq, "1");
        let b = || compare("S_B", Operator::Eq, "2");
        let c = || compare("S_C", Operator::Eq, "3");
        let rule = parse(
            r#"CustomSecurityAttribute.S_A -eq "1" -or CustomSecurityAttribute.S_B -eq "2" -and CustomSecurityAttribute.S_C -eq "3""#,
        );
        assert_eq!(rule, Ok(Rule::Or(vec![a(), Rule::And(vec![b(), c()])])));
        let rule = parse(
            r#"(CustomSecurityAttribute.S_A -eq "1" -or CustomSecurityAttribute.S_B -eq "2") -and CustomSecurityAttribute.S_C -eq "3""#,
        );
        assert_eq!(rule, Ok(Rule::And(vec![Rule::Or(vec![a(), b()]), c()])));
    }

    /// "Rules with multiple expressions": comparisons, then `-not`, then
    /// `-and`, then `-or`; the page's own example negates a parenthesised part.
    #[test]
    fn not_binds_between_a_comparison_and_and() {
        let a = || compare("S_A", Operator::Eq, "1");
        let b = || compare("S_B", Operator::StartsWith, "SDE");
        let not = |rule: Rule| Rule::Not(Box::new(rule));
        let rule = parse(
            r#"(CustomSecurityAttribute.S_A -eq "1") -and -not (CustomSecurityAttribute.S_B -startsWith "SDE")"#,
        );
        assert_eq!(rule, Ok(Rule::And(vec![a(), not(b())])));
        let rule = parse(
            r#"-not CustomSecurityAttribute.S_A -eq "1" -and CustomSecurityAttribute.S_B -startsWith "SDE""#,
        );
        assert_eq!(rule, Ok(Rule::And(vec![not(a()), b()])));
        let rule = parse(
            r#"NOT CustomSecurityAttribute.S_A -eq "1" -or -not -not CustomSecurityAttribute.S_B -startsWith "SDE""#,
        );
        assert_eq!(rule, Ok(Rule::Or(vec![not(a()), not(not(b()))])));
        let rule = parse(
            r#"-not (CustomSecurityAttribute.S_A -eq "1" -or CustomSecurityAttribute.S_B -startsWith "SDE")"#,
        );
        assert_eq!(rule, Ok(not(Rule::Or(vec![a(), b()]))));
        let values = [("S_A", Held::Text("1"))];
        assert_eq!(rule.unwrap().evaluate(&held(&values)), Truth::False);
    }

    /// A verdict every reading of letter case agrees on is settled, even when
    /// each comparison alone depends on it.
    #[test]
    fn a_verdict_every_reading_agrees_on_is_not_unknown() {
        let values = [("S_A", Held::Text("Tier0"))];
        let rule =
            parse(r#"CustomSecurityAttribute.S_A -eq "tier0" -or CustomSecurityAttribute.S_A -ne "tier0""#)
                .unwrap();
        assert_eq!(rule.evaluate(&held(&values)), Truth::True);
        let rule = parse(r#"CustomSecurityAttribute.S_A -eq "tier0""#).unwrap();
        assert_eq!(rule.evaluate(&held(&values)), Truth::Unknown);
    }

    #[test]
    fn operators_and_connectives_take_any_case_and_an_optional_hyphen() {
        let expected = Rule::And(vec![
            compare("Access_Tier", Operator::NotStartsWith, "T"),
            compare("Access_Owner", Operator::Eq, "x"),
        ]);
        for text in [
            r#"CustomSecurityAttribute.Access_Tier -notStartsWith "T" -and CustomSecurityAttribute.Access_Owner -eq "x""#,
            r#"customsecurityattribute.Access_Tier -NOTSTARTSWITH "T" -AND CUSTOMSECURITYATTRIBUTE.Access_Owner -Eq "x""#,
            "  CustomSecurityAttribute.Access_Tier\tnotStartsWith \"T\"\nand CustomSecurityAttribute.Access_Owner eq \"x\" ",
        ] {
            assert_eq!(parse(text), Ok(expected.clone()), "{text}");
        }
    }

    #[test]
    fn strings_keep_spaces_and_escape_quotes_with_a_backtick() {
        let rule = parse(r#"CustomSecurityAttribute.A_B -eq "Say `"hi`" `` twice ""#).unwrap();
        assert_eq!(rule, compare("A_B", Operator::Eq, "Say \"hi\" ` twice "));
        assert_eq!(parse(&rule.to_string()), Ok(rule));
    }

    #[test]
    fn what_the_docs_do_not_list_is_refused_with_where_and_why() {
        for (text, at, says) in [
            ("", 0, "empty"),
            (r#"CustomSecurityAttribute.A_B -match "x.*""#, 28, "not an operator"),
            (r#"CustomSecurityAttribute.A_B -eq "x" -and -not"#, 45, "found the end of the rule"),
            (r#"-not -or CustomSecurityAttribute.A_B -eq "x""#, 5, "not a custom security attribute"),
            (r#"CustomSecurityAttribute.A_B -eq 'x'"#, 32, "double quotes"),
            (r#"CustomSecurityAttribute.A_B -eq $null"#, 32, "$null"),
            (r#"device.model -eq "x""#, 0, "not a custom security attribute"),
            (r#"CustomSecurityAttribute.Set.Attr -eq "x""#, 0, "<Set>_<Attribute>"),
            (r#"CustomSecurityAttribute.AB -eq "x""#, 0, "<Set>_<Attribute>"),
            (r#"CustomSecurityAttribute.A_B -eq "x"#, 32, "not closed"),
            (r#"(CustomSecurityAttribute.A_B -eq "x""#, 36, "expected `)`"),
            (r#"CustomSecurityAttribute.A_B -in "x""#, 32, "a list"),
            (r#"CustomSecurityAttribute.A_B -eq ["x"]"#, 32, "a string in double quotes"),
            (r#"CustomSecurityAttribute.A_B -in ["x" "y"]"#, 37, "`,` or `]`"),
            (
                r#"CustomSecurityAttribute.A_B -eq "x" CustomSecurityAttribute.A_C -eq "y""#,
                36,
                "`-and`, `-or`",
            ),
            (r#"CustomSecurityAttribute.A_B -eq "x" -and"#, 40, "found the end of the rule"),
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.at, at, "{text}: {error}");
            assert!(error.message.contains(says), "{text}: {error}");
        }
        let long = format!(r#"CustomSecurityAttribute.A_B -eq "{}""#, "x".repeat(MAX_RULE_LENGTH));
        assert!(parse(&long).unwrap_err().message.contains("3072"));
    }

    fn held<'a>(values: &'a [(&'a str, Held<'a>)]) -> impl Fn(&str) -> Held<'a> + 'a {
        move |id: &str| {
            values
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(id))
                .map_or(Held::Absent, |(_, held)| *held)
        }
    }

    #[test]
    fn each_operator_on_one_value() {
        let cases = [
            ("-eq \"Tier0\"", "Tier0", Truth::True),
            ("-eq \"Tier0\"", "Tier1", Truth::False),
            ("-ne \"Tier0\"", "Tier1", Truth::True),
            ("-startsWith \"Fin\"", "Finance", Truth::True),
            ("-notStartsWith \"Fin\"", "Finance", Truth::False),
            ("-endsWith \"ance\"", "Finance", Truth::True),
            ("-notEndsWith \"ance\"", "Finance", Truth::False),
            ("-contains \"nan\"", "Finance", Truth::True),
            ("-notContains \"nan\"", "Finance", Truth::False),
            ("-in [\"A\", \"Finance\"]", "Finance", Truth::True),
            ("-notIn [\"A\", \"Finance\"]", "Finance", Truth::False),
            ("-notIn [\"A\"]", "Finance", Truth::True),
        ];
        for (tail, value, expected) in cases {
            let rule = parse(&format!("CustomSecurityAttribute.S_A {tail}")).unwrap();
            let values = [("S_A", Held::Text(value))];
            assert_eq!(rule.evaluate(&held(&values)), expected, "{tail} on {value}");
        }
    }

    #[test]
    fn no_value_matches_only_negative_operators() {
        for operator in Operator::ALL {
            let operand = if operator.takes_list() { "[\"x\"]" } else { "\"x\"" };
            let rule = parse(&format!("CustomSecurityAttribute.S_A -{} {operand}", operator.name())).unwrap();
            let expected = if operator.is_negative() { Truth::True } else { Truth::False };
            assert_eq!(rule.evaluate(&held(&[])), expected, "{operator:?}");
        }
    }

    #[test]
    fn a_collection_is_read_by_contains_only_and_whole_members() {
        let members = vec!["requireMFA".to_owned(), "legacyAuthAllowed".to_owned()];
        let values = [("S_A", Held::Texts(&members))];
        let evaluate = |text: &str| parse(text).unwrap().evaluate(&held(&values));
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -contains "requireMFA""#), Truth::True);
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -contains "require""#), Truth::False);
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -notContains "blockGuestUsers""#), Truth::True);
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -eq "requireMFA""#), Truth::Unknown);
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -in ["requireMFA"]"#), Truth::Unknown);
    }

    #[test]
    fn case_that_would_decide_the_verdict_makes_it_unknown() {
        let values = [("S_A", Held::Text("tier0"))];
        let evaluate = |text: &str| parse(text).unwrap().evaluate(&held(&values));
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -eq "Tier0""#), Truth::Unknown);
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -eq "tier0""#), Truth::True);
        assert_eq!(evaluate(r#"CustomSecurityAttribute.S_A -eq "Tier1""#), Truth::False);
        // An unknown part that the other part settles does not spread.
        assert_eq!(
            evaluate(r#"CustomSecurityAttribute.S_A -eq "Tier0" -and CustomSecurityAttribute.S_B -eq "x""#),
            Truth::False
        );
        assert_eq!(
            evaluate(r#"CustomSecurityAttribute.S_A -eq "Tier0" -or CustomSecurityAttribute.S_B -ne "x""#),
            Truth::True
        );
    }

    #[test]
    fn a_value_a_filter_does_not_read_is_unknown() {
        let values = [("S_A", Held::NotText)];
        let rule = parse(r#"CustomSecurityAttribute.S_A -eq "1""#).unwrap();
        assert_eq!(rule.evaluate(&held(&values)), Truth::Unknown);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn word() -> impl Strategy<Value = String> {
            "[a-c]{1,3}"
        }

        fn any_text() -> impl Strategy<Value = String> {
            // Quotes, backticks, spaces and operators' words inside strings.
            prop_oneof![
                word(),
                "[ a-c\"`()\\[\\],-]{0,8}",
                Just("-and".to_owned()),
                Just("x -or y".to_owned())
            ]
        }

        fn comparison(text: BoxedStrategy<String>) -> impl Strategy<Value = Rule> {
            (
                prop::sample::select(vec!["S_A", "S_B", "Set_C"]),
                prop::sample::select(Operator::ALL.to_vec()),
                prop::collection::vec(text, 1..4),
            )
                .prop_map(|(attribute, operator, mut values)| {
                    let operand = if operator.takes_list() {
                        Operand::List(values)
                    } else {
                        Operand::One(values.remove(0))
                    };
                    Rule::Compare(Comparison { attribute: attribute.into(), operator, operand })
                })
        }

        fn rule(text: BoxedStrategy<String>) -> impl Strategy<Value = Rule> {
            comparison(text).prop_recursive(3, 12, 3, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Rule::And),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(Rule::Or),
                    inner.prop_map(|part| Rule::Not(Box::new(part))),
                ]
            })
        }

        /// The rule as a person might write it: the prefix, operators and
        /// connectives in random case, hyphens dropped, spaces widened.
        fn restyle(canonical: &str, seed: u64) -> String {
            let mut bits = seed;
            let mut next = move || {
                bits = bits.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                bits >> 33
            };
            let chars: Vec<char> = canonical.chars().collect();
            let mut out = String::new();
            let mut index = 0;
            while index < chars.len() {
                let c = chars[index];
                if c == '"' {
                    // Copy the string as it is, escapes included.
                    out.push(c);
                    index += 1;
                    while chars[index] != '"' {
                        if chars[index] == '`' {
                            out.push(chars[index]);
                            index += 1;
                        }
                        out.push(chars[index]);
                        index += 1;
                    }
                    out.push('"');
                    index += 1;
                } else if c == ' ' {
                    out.push_str(["  ", "\t", " \n ", " "][next() as usize % 4]);
                    index += 1;
                } else if c == '-' || c.is_alphanumeric() {
                    let start = index;
                    while index < chars.len()
                        && (chars[index] == '-'
                            || chars[index].is_alphanumeric()
                            || matches!(chars[index], '_' | '.'))
                    {
                        index += 1;
                    }
                    let word: String = chars[start..index].iter().collect();
                    let (styled, kept) = match word.split_once('.') {
                        Some((prefix, id)) => (prefix.to_owned(), format!(".{id}")),
                        None => (word.clone(), String::new()),
                    };
                    let styled = if styled.starts_with('-') && next() % 2 == 0 {
                        styled[1..].to_owned()
                    } else {
                        styled
                    };
                    for c in styled.chars() {
                        if next() % 2 == 0 {
                            out.extend(c.to_uppercase())
                        } else {
                            out.extend(c.to_lowercase())
                        }
                    }
                    out.push_str(&kept);
                } else {
                    out.push(c);
                    index += 1;
                }
            }
            out
        }

        /// The reference: plain boolean logic over one lowercase value per
        /// attribute, where case cannot matter and nothing is unknown.
        fn reference(rule: &Rule, values: &[(String, Option<String>)]) -> bool {
            match rule {
                Rule::Or(parts) => parts.iter().any(|part| reference(part, values)),
                Rule::And(parts) => parts.iter().all(|part| reference(part, values)),
                Rule::Not(part) => !reference(part, values),
                Rule::Compare(comparison) => {
                    let value = values
                        .iter()
                        .find(|(name, _)| name == &comparison.attribute)
                        .and_then(|(_, value)| value.clone());
                    let Some(value) = value else { return comparison.operator.is_negative() };
                    let one = match &comparison.operand {
                        Operand::One(one) => one.clone(),
                        Operand::List(_) => String::new(),
                    };
                    match (&comparison.operator, &comparison.operand) {
                        (Operator::Eq, _) => value == one,
                        (Operator::Ne, _) => value != one,
                        (Operator::StartsWith, _) => value.starts_with(&one),
                        (Operator::NotStartsWith, _) => !value.starts_with(&one),
                        (Operator::EndsWith, _) => value.ends_with(&one),
                        (Operator::NotEndsWith, _) => !value.ends_with(&one),
                        (Operator::Contains, _) => value.contains(&one),
                        (Operator::NotContains, _) => !value.contains(&one),
                        (Operator::In, Operand::List(list)) => list.contains(&value),
                        (Operator::NotIn, Operand::List(list)) => !list.contains(&value),
                        _ => unreachable!("lists go with -in and -notIn"),
                    }
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn printing_then_parsing_gives_the_rule_back(rule in rule(any_text().boxed()), seed in any::<u64>()) {
                let text = rule.to_string();
                prop_assert_eq!(parse(&text), Ok(rule.clone()), "{}", text);
                let restyled = restyle(&text, seed);
                prop_assert_eq!(parse(&restyled), Ok(rule), "{}", restyled);
            }

            #[test]
            fn evaluation_agrees_with_plain_logic(
                rule in rule(word().boxed()),
                a in prop::option::of(word()),
                b in prop::option::of(word()),
                c in prop::option::of(word()),
            ) {
                let values = vec![("S_A".to_owned(), a), ("S_B".to_owned(), b), ("Set_C".to_owned(), c)];
                let held = |id: &str| {
                    values
                        .iter()
                        .find(|(name, _)| name == id)
                        .and_then(|(_, value)| value.as_deref())
                        .map_or(Held::Absent, Held::Text)
                };
                let expected = if reference(&rule, &values) { Truth::True } else { Truth::False };
                prop_assert_eq!(rule.evaluate(&held), expected, "{}", rule);
            }

            #[test]
            fn no_text_makes_the_parser_panic(text in "[ -~\t\n–]{0,60}") {
                let _ = parse(&text);
            }
        }
    }
}
