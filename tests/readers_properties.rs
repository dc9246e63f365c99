//! Property tests of the two parsers of readers outside Conditional Access,
//! over generated inputs: an Azure role assignment's condition and a
//! lifecycle workflow's scope rule, each printed from a generated tree,
//! parse back to that tree; they name exactly the principal attributes and
//! literals the tree holds; and their verdicts agree with a deliberately
//! simple evaluator written here from Microsoft's pages, trying every
//! reading of what the tool cannot know.

use entra_csa::readers::lifecycle_workflow::rule::{self, Rule};
use entra_csa::readers::role_assignment::condition::{
    self, Attribute, Comparison, Condition, Literal, Operand, Operator, Quantifier, Test, Verdict,
};
use proptest::prelude::*;

// ── Azure role assignment conditions ──

const PRINCIPAL: &str = "Microsoft.Directory/CustomSecurityAttributes/Id:";
const IDS: [&str; 3] = ["Access_Tier", "Engineering_Project", "Hr_Grade"];
const WORDS: [&str; 4] = ["Tier0", "Tier1", "Alpine", "Baker"];

fn principal(id: &str) -> Attribute {
    Attribute { source: "Principal".into(), name: format!("{PRINCIPAL}{id}") }
}

fn resource() -> Attribute {
    Attribute {
        source: "Resource".into(),
        name: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>".into(),
    }
}

fn string_operator() -> impl Strategy<Value = Operator> {
    (
        prop::sample::select(vec![Test::StringEquals, Test::StringStartsWith, Test::StringLike]),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::sample::select(Quantifier::ALL.to_vec())),
    )
        .prop_map(|(test, negated, ignore_case, quantifier)| Operator {
            quantifier,
            test,
            negated,
            ignore_case,
        })
}

fn literals() -> impl Strategy<Value = Vec<Literal>> {
    prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..3)
        .prop_map(|words| words.into_iter().map(|word| Literal::Quoted(word.to_owned())).collect())
}

fn comparison() -> impl Strategy<Value = Condition> {
    (prop::sample::select(IDS.to_vec()), string_operator(), literals(), 0..4u8).prop_map(
        |(id, operator, literals, shape)| {
            // A single-value operator takes one literal.
            let literals = if operator.quantifier.is_none() { literals[..1].to_vec() } else { literals };
            let (left, right) = match shape {
                0 => (Operand::Attribute(principal(id)), Operand::Literals(literals)),
                1 => (Operand::Literals(literals), Operand::Attribute(principal(id))),
                2 => (Operand::Attribute(principal(id)), Operand::Attribute(resource())),
                _ => (Operand::Attribute(resource()), Operand::Literals(literals)),
            };
            Condition::Compare(Comparison { left, operator, right })
        },
    )
}

fn atom() -> impl Strategy<Value = Condition> {
    prop_oneof![
        4 => comparison(),
        1 => prop::sample::select(vec!["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Blob.List"])
            .prop_map(|argument| Condition::Function {
                name: if argument == "Blob.List" { "SubOperationMatches".into() } else { "ActionMatches".into() },
                argument: argument.into(),
            }),
        1 => prop::sample::select(IDS.to_vec()).prop_map(|id| Condition::Exists(principal(id))),
    ]
}

fn tree() -> impl Strategy<Value = Condition> {
    atom().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Condition::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Condition::Or),
            inner.prop_map(|part| Condition::Not(Box::new(part))),
        ]
    })
}

/// The condition as text, every compound part in parentheses; `symbols`
/// writes `&&`, `||`, `!` instead of the words.
fn print(condition: &Condition, symbols: bool) -> String {
    let wrap = |part: &Condition| match part {
        Condition::And(_) | Condition::Or(_) => format!("({})", print(part, symbols)),
        _ => print(part, symbols),
    };
    let operand = |operand: &Operand| match operand {
        Operand::Attribute(attribute) => attribute.to_string(),
        Operand::Literals(literals) if literals.len() == 1 => format!("'{}'", literals[0].text()),
        Operand::Literals(literals) => {
            format!(
                "{{{}}}",
                literals.iter().map(|literal| format!("'{}'", literal.text())).collect::<Vec<_>>().join(", ")
            )
        }
    };
    match condition {
        Condition::And(parts) => {
            parts.iter().map(wrap).collect::<Vec<_>>().join(if symbols { " && " } else { " AND " })
        }
        Condition::Or(parts) => {
            parts.iter().map(wrap).collect::<Vec<_>>().join(if symbols { " || " } else { " OR " })
        }
        Condition::Not(inner) => format!("{}({})", if symbols { "!" } else { "NOT " }, print(inner, symbols)),
        Condition::Function { name, argument } => format!("{name}{{'{argument}'}}"),
        Condition::Exists(attribute) => format!("Exists {attribute}"),
        Condition::Compare(comparison) => {
            format!(
                "{} {} {}",
                operand(&comparison.left),
                comparison.operator.name(),
                operand(&comparison.right)
            )
        }
    }
}

/// (attribute, literal) of every principal comparison, from the tree.
fn expected_named(condition: &Condition, found: &mut Vec<(String, Option<String>)>) {
    match condition {
        Condition::And(parts) | Condition::Or(parts) => {
            parts.iter().for_each(|part| expected_named(part, found))
        }
        Condition::Not(inner) => expected_named(inner, found),
        Condition::Exists(attribute) => found.push((attribute.name[PRINCIPAL.len()..].to_owned(), None)),
        Condition::Compare(comparison) => {
            for (side, other) in
                [(&comparison.left, &comparison.right), (&comparison.right, &comparison.left)]
            {
                if let Operand::Attribute(attribute) = side
                    && attribute.source == "Principal"
                {
                    let id = attribute.name[PRINCIPAL.len()..].to_owned();
                    match other {
                        Operand::Literals(literals) => found.extend(
                            literals.iter().map(|literal| (id.clone(), Some(literal.text().to_owned()))),
                        ),
                        Operand::Attribute(_) => found.push((id, None)),
                    }
                }
            }
        }
        Condition::Function { .. } => {}
    }
}

/// The simple evaluator: a condition over principal values (each attribute
/// holding one value), the request's parts and each tag comparison given.
fn simple(condition: &Condition, held: &dyn Fn(&str) -> String, unknown: &dyn Fn(&str) -> bool) -> bool {
    match condition {
        Condition::And(parts) => parts.iter().all(|part| simple(part, held, unknown)),
        Condition::Or(parts) => parts.iter().any(|part| simple(part, held, unknown)),
        Condition::Not(inner) => !simple(inner, held, unknown),
        Condition::Function { argument, .. } => unknown(argument),
        Condition::Exists(_) => true,
        Condition::Compare(comparison) => {
            let values = |operand: &Operand| -> Option<Vec<String>> {
                match operand {
                    Operand::Literals(literals) => {
                        Some(literals.iter().map(|literal| literal.text().to_owned()).collect())
                    }
                    Operand::Attribute(attribute) if attribute.source == "Principal" => {
                        Some(vec![held(&attribute.name[PRINCIPAL.len()..])])
                    }
                    Operand::Attribute(_) => None,
                }
            };
            let (Some(left), Some(right)) = (values(&comparison.left), values(&comparison.right)) else {
                return unknown(&format!("{comparison:?}"));
            };
            let operator = comparison.operator;
            let case = |text: &str| if operator.ignore_case { text.to_lowercase() } else { text.to_owned() };
            let test = |l: &str, r: &str| {
                let (l, r) = (case(l), case(r));
                (match operator.test {
                    Test::StringEquals => l == r,
                    Test::StringStartsWith => l.starts_with(&r),
                    // No literal here holds a wildcard: Like is equality.
                    _ => l == r,
                }) != operator.negated
            };
            match operator.quantifier {
                None => test(&left[0], &right[0]),
                Some(Quantifier::AnyOfAny) => left.iter().any(|l| right.iter().any(|r| test(l, r))),
                Some(Quantifier::AllOfAny) => left.iter().all(|l| right.iter().any(|r| test(l, r))),
                Some(Quantifier::AnyOfAll) => left.iter().any(|l| right.iter().all(|r| test(l, r))),
                Some(Quantifier::AllOfAll) => left.iter().all(|l| right.iter().all(|r| test(l, r))),
            }
        }
    }
}

/// Whether a tree holds a comparison of a principal attribute with a
/// resource's, or one a single-value operator cannot settle.
fn reads_tags(condition: &Condition) -> bool {
    match condition {
        Condition::And(parts) | Condition::Or(parts) => parts.iter().any(reads_tags),
        Condition::Not(inner) => reads_tags(inner),
        Condition::Compare(comparison) => {
            matches!((&comparison.left, &comparison.right), (Operand::Attribute(a), Operand::Attribute(b)) if a.source == "Principal" || b.source == "Principal")
        }
        _ => false,
    }
}

/// The request parts and tag comparisons of a tree, as the keys `simple` asks for.
fn unknowns(condition: &Condition, found: &mut Vec<String>) {
    match condition {
        Condition::And(parts) | Condition::Or(parts) => parts.iter().for_each(|part| unknowns(part, found)),
        Condition::Not(inner) => unknowns(inner, found),
        Condition::Function { argument, .. } => found.push(argument.clone()),
        Condition::Compare(comparison) => {
            let other = |operand: &Operand| matches!(operand, Operand::Attribute(attribute) if attribute.source != "Principal");
            if other(&comparison.left) || other(&comparison.right) {
                found.push(format!("{comparison:?}"));
            }
        }
        Condition::Exists(_) => {}
    }
    found.sort();
    found.dedup();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_printed_condition_parses_back_to_its_tree(tree in tree(), symbols in any::<bool>()) {
        let text = print(&tree, symbols);
        let parsed = condition::parse(&text).map_err(|error| TestCaseError::fail(format!("{text}: {error}")))?;
        prop_assert_eq!(&parsed, &tree, "{}", text);
        let mut expected = Vec::new();
        expected_named(&tree, &mut expected);
        let named: Vec<(String, Option<String>)> =
            parsed.named().into_iter().map(|named| (named.attribute, named.value)).collect();
        let (mut expected, mut named) = (expected, named);
        expected.sort();
        named.sort();
        prop_assert_eq!(named, expected);
    }

    #[test]
    fn the_verdict_agrees_with_every_reading_of_the_request(
        tree in tree(),
        before in prop::collection::vec(prop::sample::select(WORDS.to_vec()), 3),
        after in prop::collection::vec(prop::sample::select(WORDS.to_vec()), 3),
    ) {
        prop_assume!(!reads_tags(&tree));
        fn lookup(values: Vec<&'static str>) -> impl Fn(&str) -> Option<Vec<String>> {
            move |id: &str| Some(vec![values[IDS.iter().position(|known| *known == id).unwrap()].to_owned()])
        }
        let (was, is) = (lookup(before.clone()), lookup(after.clone()));
        let verdict = condition::verdict(&tree, &was, &is);
        let mut keys = Vec::new();
        unknowns(&tree, &mut keys);
        prop_assume!(keys.len() <= 8);
        let (mut gains, mut loses) = (false, false);
        for combination in 0u32..(1 << keys.len()) {
            let unknown = |key: &str| keys.iter().position(|known| known == key).is_some_and(|bit| combination & (1 << bit) != 0);
            let held_before = |id: &str| before[IDS.iter().position(|known| *known == id).unwrap()].to_owned();
            let held_after = |id: &str| after[IDS.iter().position(|known| *known == id).unwrap()].to_owned();
            let (b, a) = (simple(&tree, &held_before, &unknown), simple(&tree, &held_after, &unknown));
            gains |= !b && a;
            loses |= b && !a;
        }
        let expected = match (gains, loses) {
            (false, false) => "unchanged",
            (true, false) => "gains",
            (false, true) => "loses",
            (true, true) => "may change",
        };
        let found = match verdict {
            Verdict::Unchanged => "unchanged",
            Verdict::Gains => "gains",
            Verdict::Loses => "loses",
            Verdict::MayChange(_) => "may change",
        };
        prop_assert_eq!(found, expected, "{}", print(&tree, false));
    }
}

// ── lifecycle workflow scope rules ──

fn rule_comparison() -> impl Strategy<Value = Rule> {
    (
        prop::sample::select(vec![
            "customSecurityAttributes/Hr/Grade",
            "customSecurityAttributes/Access/Tier",
            "department",
        ]),
        prop::sample::select(rule::Operator::ALL.to_vec()),
        prop::collection::vec(prop::sample::select(vec!["g7", "g8", "tier0", "sales"]), 1..3),
    )
        .prop_map(|(property, operator, literals)| {
            let literals = if operator == rule::Operator::In { literals } else { literals[..1].to_vec() };
            Rule::Compare(rule::Comparison {
                property: property.into(),
                operator,
                literals: literals.into_iter().map(str::to_owned).collect(),
            })
        })
}

fn rule_tree() -> impl Strategy<Value = Rule> {
    rule_comparison().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Rule::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Rule::Or),
            inner.prop_map(|part| Rule::Not(Box::new(part))),
        ]
    })
}

fn print_rule(rule: &Rule) -> String {
    let wrap = |part: &Rule| match part {
        Rule::And(_) | Rule::Or(_) => format!("({})", print_rule(part)),
        _ => print_rule(part),
    };
    match rule {
        Rule::And(parts) => parts.iter().map(wrap).collect::<Vec<_>>().join(" and "),
        Rule::Or(parts) => parts.iter().map(wrap).collect::<Vec<_>>().join(" or "),
        Rule::Not(inner) => format!("not ({})", print_rule(inner)),
        Rule::Opaque(text) => text.clone(),
        Rule::Compare(comparison) => match comparison.operator {
            rule::Operator::StartsWith => {
                format!("startsWith({}, '{}')", comparison.property, comparison.literals[0])
            }
            rule::Operator::In => format!(
                "{} in ({})",
                comparison.property,
                comparison
                    .literals
                    .iter()
                    .map(|literal| format!("'{literal}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            operator => format!("({} {} '{}')", comparison.property, operator.name(), comparison.literals[0]),
        },
    }
}

/// The simple evaluator of a rule over custom security attributes only
/// (one value each; a user without it matches no eq, in or startsWith).
fn simple_rule(rule: &Rule, held: &dyn Fn(&str) -> &'static str) -> bool {
    match rule {
        Rule::And(parts) => parts.iter().all(|part| simple_rule(part, held)),
        Rule::Or(parts) => parts.iter().any(|part| simple_rule(part, held)),
        Rule::Not(inner) => !simple_rule(inner, held),
        Rule::Opaque(_) => unreachable!(),
        Rule::Compare(comparison) => {
            let value = held(&comparison.property);
            match comparison.operator {
                rule::Operator::Eq | rule::Operator::In => {
                    comparison.literals.iter().any(|literal| literal == value)
                }
                rule::Operator::Ne => comparison.literals.iter().all(|literal| literal != value),
                rule::Operator::StartsWith => value.starts_with(comparison.literals[0].as_str()),
            }
        }
    }
}

fn mentions_department(rule: &Rule) -> bool {
    match rule {
        Rule::And(parts) | Rule::Or(parts) => parts.iter().any(mentions_department),
        Rule::Not(inner) => mentions_department(inner),
        Rule::Compare(comparison) => comparison.property == "department",
        Rule::Opaque(_) => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_printed_rule_parses_back_to_its_tree(tree in rule_tree()) {
        let text = print_rule(&tree);
        let parsed = rule::parse(&text).map_err(|error| TestCaseError::fail(format!("{text}: {error}")))?;
        prop_assert_eq!(&parsed, &tree, "{}", text);
        let named: Vec<String> = parsed.named().into_iter().map(|(id, _)| id).collect();
        let expected = text.matches("customSecurityAttributes/").count();
        prop_assert_eq!(named.len(), expected);
        prop_assert!(named.iter().all(|id| id == "Hr_Grade" || id == "Access_Tier"));
    }

    #[test]
    fn a_rule_over_attributes_alone_gives_the_simple_evaluators_verdict(
        tree in rule_tree(),
        before in prop::sample::select(vec!["g7", "g8", "tier0", "sales"]),
        after in prop::sample::select(vec!["g7", "g8", "tier0", "sales"]),
    ) {
        prop_assume!(!mentions_department(&tree));
        let values = |grade: &'static str| move |id: &str| -> Option<Vec<String>> {
            (id == "Hr_Grade").then(|| vec![grade.to_owned()]).or_else(|| (id == "Access_Tier").then(|| vec!["tier0".to_owned()]))
        };
        let (was, is) = (values(before), values(after));
        let verdict = rule::verdict(&tree, &was, &is);
        let held = |grade: &'static str| move |property: &str| if property.ends_with("Grade") { grade } else { "tier0" };
        let (b, a) = (simple_rule(&tree, &held(before)), simple_rule(&tree, &held(after)));
        let expected = match (b, a) {
            (false, true) => rule::Verdict::Enters,
            (true, false) => rule::Verdict::Leaves,
            _ => rule::Verdict::Unchanged,
        };
        prop_assert_eq!(verdict, expected, "{}", print_rule(&tree));
    }
}
