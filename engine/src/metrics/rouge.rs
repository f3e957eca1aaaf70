//! ROUGE-1 and ROUGE-L exactly as Python `rouge_score` 0.1.2 computes
//! `RougeScorer(["rouge1", "rougeL"], use_stemmer=True).score(target, prediction)`, the scorer
//! behind TOFU's and open-unlearning's `Q_A_ROUGE` metric (spec §5.3 of
//! `../shared/spec/UNLEARNING_SPEC.md`).
//!
//! * [`tokenize`] ports `rouge_score/tokenize.py`: lowercase, turn every run of characters
//!   outside `[a-z0-9]` into a space (non-ASCII letters are separators), split, stem tokens longer
//!   than three characters, drop anything that is not `^[a-z0-9]+$`.
//! * [`porter_stem`] ports `nltk.stem.porter.PorterStemmer` in its default `NLTK_EXTENSIONS`
//!   mode (nltk 3.x), including its irregular-forms pool and the NLTK-only rules (`ies`/`ied` on
//!   four-letter words, step 1c's `(*c and not c) Y -> I`, step 2's `alli` re-run, `fulli` and
//!   `logi`, and the two-letter `*o` case). A Porter2/Snowball stemmer gives different stems.
//! * [`rouge`] scores rouge1 by clipped unigram counts (`_score_ngrams`) and rougeL by the
//!   length of the longest common subsequence (`_score_lcs`).

use std::collections::HashMap;

/// Precision, recall and F1 of one ROUGE variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Matches divided by the number of prediction tokens.
    pub precision: f64,
    /// Matches divided by the number of target tokens.
    pub recall: f64,
    /// `2PR/(P+R)`, or 0 when `P + R = 0`.
    pub fmeasure: f64,
}

impl Score {
    const ZERO: Self = Self {
        precision: 0.0,
        recall: 0.0,
        fmeasure: 0.0,
    };

    /// `rouge_score.scoring.fmeasure`, with the same operation order.
    fn from_counts(matches: usize, prediction_len: usize, target_len: usize) -> Self {
        #[expect(
            clippy::cast_precision_loss,
            reason = "token counts are far below 2^52"
        )]
        let (matches, prediction_len, target_len) =
            (matches as f64, prediction_len as f64, target_len as f64);
        let precision = matches / prediction_len;
        let recall = matches / target_len;
        let fmeasure = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Self {
            precision,
            recall,
            fmeasure,
        }
    }
}

/// rouge1 and rougeL of one pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RougeScores {
    /// Unigram overlap (`rouge1`).
    pub rouge1: Score,
    /// Longest common subsequence (`rougeL`); TOFU reports `rouge_l.recall`.
    pub rouge_l: Score,
}

/// `rouge_score`'s tokeniser with the stemmer on.
///
/// `tokenize.tokenize(text, PorterStemmer())`: Python's `str.lower()`, every maximal run of
/// characters outside `[a-z0-9]` becomes one space, split on whitespace, [`porter_stem`] on tokens
/// longer than three characters, then drop empty tokens and any not matching `^[a-z0-9]+$`.
#[must_use]
pub fn tokenize(text: &str) -> Vec<String> {
    // Unicode lowercasing can produce ASCII letters from non-ASCII ones (U+0130 'İ' -> "i\u{307}",
    // U+212A KELVIN SIGN -> 'k'), so lowercase first and classify afterwards, as Python does.
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|token| !token.is_empty())
        .map(|token| {
            if token.chars().count() > 3 {
                porter_stem(token)
            } else {
                token.to_string()
            }
        })
        .filter(|token| {
            !token.is_empty()
                && token
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        .collect()
}

/// `RougeScorer(["rouge1","rougeL"], use_stemmer=True).score(target, prediction)`.
///
/// If either side has no tokens, every score is 0.
#[must_use]
pub fn rouge(target: &str, prediction: &str) -> RougeScores {
    let target = tokenize(target);
    let prediction = tokenize(prediction);
    if target.is_empty() || prediction.is_empty() {
        return RougeScores {
            rouge1: Score::ZERO,
            rouge_l: Score::ZERO,
        };
    }
    RougeScores {
        rouge1: Score::from_counts(
            unigram_overlap(&target, &prediction),
            prediction.len(),
            target.len(),
        ),
        rouge_l: Score::from_counts(
            lcs_length(&target, &prediction),
            prediction.len(),
            target.len(),
        ),
    }
}

/// `_score_ngrams` for n = 1: sum over target unigrams of `min(count_target, count_prediction)`.
fn unigram_overlap(target: &[String], prediction: &[String]) -> usize {
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for token in target {
        counts.entry(token.as_str()).or_default().0 += 1;
    }
    for token in prediction {
        if let Some(entry) = counts.get_mut(token.as_str()) {
            entry.1 += 1;
        }
    }
    counts
        .values()
        .map(|&(in_target, in_prediction)| in_target.min(in_prediction))
        .sum()
}

/// Length of the longest common subsequence (`_lcs_table(...)[-1][-1]`), two DP rows.
fn lcs_length(target: &[String], prediction: &[String]) -> usize {
    let mut previous = vec![0_usize; prediction.len() + 1];
    let mut current = vec![0_usize; prediction.len() + 1];
    for target_token in target {
        for (j, prediction_token) in prediction.iter().enumerate() {
            current[j + 1] = if target_token == prediction_token {
                previous[j] + 1
            } else {
                previous[j + 1].max(current[j])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[prediction.len()]
}

// ---------------------------------------------------------------------------------------------
// NLTK's Porter stemmer, mode NLTK_EXTENSIONS (nltk/stem/porter.py). Words are handled as
// sequences of Unicode scalar values, like Python strings, so any input is safe; only ASCII
// vowels and 'y' are special.

/// `NLTK_EXTENSIONS`' table of irregular forms: `(word, stem)`, checked before any rule.
const IRREGULAR_FORMS: &[(&str, &str)] = &[
    ("sky", "sky"),
    ("skies", "sky"),
    ("dying", "die"),
    ("lying", "lie"),
    ("tying", "tie"),
    ("news", "news"),
    ("innings", "inning"),
    ("inning", "inning"),
    ("outings", "outing"),
    ("outing", "outing"),
    ("cannings", "canning"),
    ("canning", "canning"),
    ("howe", "howe"),
    ("proceed", "proceed"),
    ("exceed", "exceed"),
    ("succeed", "succeed"),
];

/// NLTK's `PorterStemmer` (`NLTK_EXTENSIONS`) on one lower-case word.
///
/// Like `PorterStemmer().stem(word)` it lowercases first (a no-op for rouge's tokens), returns
/// irregular forms from NLTK's pool, and leaves words of at most two characters alone.
#[must_use]
pub fn porter_stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some(&(_, stem)) = IRREGULAR_FORMS.iter().find(|(form, _)| *form == lower) {
        return stem.to_string();
    }
    // NLTK measures the word as given, before lowercasing.
    if word.chars().count() <= 2 {
        return lower;
    }
    let mut stem: Vec<char> = lower.chars().collect();
    stem = step1a(&stem);
    stem = step1b(&stem);
    stem = step1c(&stem);
    stem = step2(&stem);
    stem = step3(&stem);
    stem = step4(&stem);
    stem = step5a(&stem);
    stem = step5b(&stem);
    stem.into_iter().collect()
}

type Word = Vec<char>;

/// A condition on the stem left after removing a rule's suffix.
type Condition<'a> = &'a dyn Fn(&[char]) -> bool;

/// `(suffix, replacement, condition)`; `None` means unconditional.
type Rule<'a> = (&'a str, &'a str, Option<Condition<'a>>);

const fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// `_consonant_flags`: `true` where the letter is a consonant. A 'y' is a consonant at the start
/// of a word or after a vowel, and a vowel after a consonant.
fn consonant_flags(word: &[char]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(word.len());
    for &c in word {
        let consonant = if is_vowel(c) {
            false
        } else if c == 'y' {
            flags.last().is_none_or(|&previous| !previous)
        } else {
            true
        };
        flags.push(consonant);
    }
    flags
}

/// `_is_consonant(word, i)`.
fn is_consonant(word: &[char], i: usize) -> bool {
    consonant_flags(&word[..=i])[i]
}

/// `_measure`: the m in `[C](VC){m}[V]`, i.e. the number of vowel→consonant transitions.
fn measure(stem: &[char]) -> usize {
    consonant_flags(stem)
        .windows(2)
        .filter(|pair| !pair[0] && pair[1])
        .count()
}

fn has_positive_measure(stem: &[char]) -> bool {
    measure(stem) > 0
}

fn measure_gt_1(stem: &[char]) -> bool {
    measure(stem) > 1
}

/// `_contains_vowel`.
fn contains_vowel(stem: &[char]) -> bool {
    consonant_flags(stem).iter().any(|&consonant| !consonant)
}

/// `_ends_double_consonant` (condition *d).
fn ends_double_consonant(word: &[char]) -> bool {
    let n = word.len();
    n >= 2 && word[n - 1] == word[n - 2] && is_consonant(word, n - 1)
}

/// `_ends_cvc` (condition *o), with NLTK's extra case: a two-letter word vowel+consonant (with no
/// w/x/y exclusion in that case).
fn ends_cvc(word: &[char]) -> bool {
    let n = word.len();
    if n >= 3 {
        let flags = consonant_flags(word);
        if flags[n - 3] && !flags[n - 2] && flags[n - 1] && !matches!(word[n - 1], 'w' | 'x' | 'y')
        {
            return true;
        }
    }
    n == 2 && !is_consonant(word, 0) && is_consonant(word, 1)
}

fn ends_with(word: &[char], suffix: &str) -> bool {
    let suffix_len = suffix.chars().count();
    word.len() >= suffix_len
        && word[word.len() - suffix_len..]
            .iter()
            .copied()
            .eq(suffix.chars())
}

/// `word` without its last `count` letters.
fn strip(word: &[char], count: usize) -> &[char] {
    &word[..word.len() - count]
}

fn concat(stem: &[char], tail: &str) -> Word {
    stem.iter().copied().chain(tail.chars()).collect()
}

/// `_apply_rule_list`: the first rule whose suffix matches decides; if its condition fails, the
/// word is returned unchanged and no later rule is tried.
fn apply_rules(word: &[char], rules: &[Rule<'_>]) -> Word {
    for &(suffix, replacement, condition) in rules {
        if ends_with(word, suffix) {
            let stem = strip(word, suffix.chars().count());
            return if condition.is_none_or(|condition| condition(stem)) {
                concat(stem, replacement)
            } else {
                word.to_vec()
            };
        }
    }
    word.to_vec()
}

/// Step 1a: `sses -> ss`, `ies -> i` (NLTK: `ies -> ie` for four-letter words), `ss -> ss`,
/// `s -> `.
fn step1a(word: &[char]) -> Word {
    if ends_with(word, "ies") && word.len() == 4 {
        return concat(strip(word, 3), "ie");
    }
    apply_rules(
        word,
        &[
            ("sses", "ss", None),
            ("ies", "i", None),
            ("ss", "ss", None),
            ("s", "", None),
        ],
    )
}

/// Step 1b: NLTK's `ied` rule, `(m>0) eed -> ee`, `(*v*) ed ->`, `(*v*) ing ->` and the clean-up
/// after the last two.
fn step1b(word: &[char]) -> Word {
    if ends_with(word, "ied") {
        let replacement = if word.len() == 4 { "ie" } else { "i" };
        return concat(strip(word, 3), replacement);
    }
    if ends_with(word, "eed") {
        let stem = strip(word, 3);
        return if measure(stem) > 0 {
            concat(stem, "ee")
        } else {
            word.to_vec()
        };
    }
    let Some(stem) = ["ed", "ing"].iter().find_map(|suffix| {
        if !ends_with(word, suffix) {
            return None;
        }
        let stem = strip(word, suffix.len());
        contains_vowel(stem).then_some(stem)
    }) else {
        return word.to_vec();
    };
    if ends_with(stem, "at") {
        concat(strip(stem, 2), "ate")
    } else if ends_with(stem, "bl") {
        concat(strip(stem, 2), "ble")
    } else if ends_with(stem, "iz") {
        concat(strip(stem, 2), "ize")
    } else if ends_double_consonant(stem) {
        // (*d and not (*L or *S or *Z)) -> single letter; otherwise stop here.
        if matches!(stem[stem.len() - 1], 'l' | 's' | 'z') {
            stem.to_vec()
        } else {
            strip(stem, 1).to_vec()
        }
    } else if measure(stem) == 1 && ends_cvc(stem) {
        concat(stem, "e")
    } else {
        stem.to_vec()
    }
}

/// Step 1c, NLTK's rule: `(*c and not c) y -> i`, i.e. a final 'y' after a consonant that is not
/// the first letter.
fn step1c(word: &[char]) -> Word {
    let condition = |stem: &[char]| stem.len() > 1 && is_consonant(stem, stem.len() - 1);
    apply_rules(word, &[("y", "i", Some(&condition))])
}

/// Step 2 (m>0 suffix mappings), with NLTK's `alli` re-run, `bli -> ble`, `fulli` and `logi`.
fn step2(word: &[char]) -> Word {
    if ends_with(word, "alli") && has_positive_measure(strip(word, 4)) {
        return step2(&concat(strip(word, 4), "al"));
    }
    // 'logi' -> 'log' keeps the 'l' with the stem, so 'geo'/'theo' behave like 'archaeo'.
    let logi = |_: &[char]| has_positive_measure(strip(word, 3));
    let m: Condition<'_> = &has_positive_measure;
    apply_rules(
        word,
        &[
            ("ational", "ate", Some(m)),
            ("tional", "tion", Some(m)),
            ("enci", "ence", Some(m)),
            ("anci", "ance", Some(m)),
            ("izer", "ize", Some(m)),
            ("bli", "ble", Some(m)),
            ("alli", "al", Some(m)),
            ("entli", "ent", Some(m)),
            ("eli", "e", Some(m)),
            ("ousli", "ous", Some(m)),
            ("ization", "ize", Some(m)),
            ("ation", "ate", Some(m)),
            ("ator", "ate", Some(m)),
            ("alism", "al", Some(m)),
            ("iveness", "ive", Some(m)),
            ("fulness", "ful", Some(m)),
            ("ousness", "ous", Some(m)),
            ("aliti", "al", Some(m)),
            ("iviti", "ive", Some(m)),
            ("biliti", "ble", Some(m)),
            ("fulli", "ful", Some(m)),
            ("logi", "log", Some(&logi)),
        ],
    )
}

/// Step 3 (m>0): `icate -> ic`, `ative ->`, `alize -> al`, `iciti -> ic`, `ical -> ic`, `ful ->`,
/// `ness ->`.
fn step3(word: &[char]) -> Word {
    let m: Condition<'_> = &has_positive_measure;
    apply_rules(
        word,
        &[
            ("icate", "ic", Some(m)),
            ("ative", "", Some(m)),
            ("alize", "al", Some(m)),
            ("iciti", "ic", Some(m)),
            ("ical", "ic", Some(m)),
            ("ful", "", Some(m)),
            ("ness", "", Some(m)),
        ],
    )
}

/// Step 4 (m>1): remove `al`, `ance`, …, `ize`; `ion` only after 's' or 't'.
fn step4(word: &[char]) -> Word {
    let m: Condition<'_> = &measure_gt_1;
    let ion = |stem: &[char]| measure(stem) > 1 && matches!(stem.last(), Some('s' | 't'));
    apply_rules(
        word,
        &[
            ("al", "", Some(m)),
            ("ance", "", Some(m)),
            ("ence", "", Some(m)),
            ("er", "", Some(m)),
            ("ic", "", Some(m)),
            ("able", "", Some(m)),
            ("ible", "", Some(m)),
            ("ant", "", Some(m)),
            ("ement", "", Some(m)),
            ("ment", "", Some(m)),
            ("ent", "", Some(m)),
            ("ion", "", Some(&ion)),
            ("ou", "", Some(m)),
            ("ism", "", Some(m)),
            ("ate", "", Some(m)),
            ("iti", "", Some(m)),
            ("ous", "", Some(m)),
            ("ive", "", Some(m)),
            ("ize", "", Some(m)),
        ],
    )
}

/// Step 5a: `(m>1) e ->`, `(m=1 and not *o) e ->`.
fn step5a(word: &[char]) -> Word {
    if ends_with(word, "e") {
        let stem = strip(word, 1);
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            return stem.to_vec();
        }
    }
    word.to_vec()
}

/// Step 5b: `(m>1 and *d and *L) -> single letter`, the measure taken on the word minus one 'l'.
fn step5b(word: &[char]) -> Word {
    if ends_with(word, "ll") && measure(strip(word, 1)) > 1 {
        return strip(word, 1).to_vec();
    }
    word.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_GT: &str = "The full name of the fictitious author born in Kuwait City, Kuwait on \
                           the 8th of September, 1956 is Basil Mahfouz Al-Kuwaiti.";
    const SPEC_GEN: &str = "The full name of the author born in Kuwait City, Kuwait on 08/09/1956 \
                            is Leila Al-Sabah.";

    // Generated by scripts/reference/porter_stems.py with nltk 3.10.4
    // (PorterStemmer(), mode NLTK_EXTENSIONS).
    const STEMS: &[(&str, &str)] = &[
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("ties", "tie"),
        ("cats", "cat"),
        ("caress", "caress"),
        ("flies", "fli"),
        ("dies", "die"),
        ("spies", "spi"),
        ("lies", "lie"),
        ("cries", "cri"),
        ("sky", "sky"),
        ("skies", "sky"),
        ("dying", "die"),
        ("lying", "lie"),
        ("tying", "tie"),
        ("news", "news"),
        ("innings", "inning"),
        ("inning", "inning"),
        ("outings", "outing"),
        ("outing", "outing"),
        ("cannings", "canning"),
        ("canning", "canning"),
        ("howe", "howe"),
        ("proceed", "proceed"),
        ("exceed", "exceed"),
        ("succeed", "succeed"),
        ("proceeded", "proceed"),
        ("exceeding", "exceed"),
        ("succeeding", "succeed"),
        ("feed", "feed"),
        ("agreed", "agre"),
        ("bled", "bled"),
        ("plastered", "plaster"),
        ("motoring", "motor"),
        ("sing", "sing"),
        ("conflated", "conflat"),
        ("troubled", "troubl"),
        ("sized", "size"),
        ("hopping", "hop"),
        ("tanned", "tan"),
        ("falling", "fall"),
        ("hissing", "hiss"),
        ("fizzed", "fizz"),
        ("failing", "fail"),
        ("filing", "file"),
        ("spied", "spi"),
        ("died", "die"),
        ("tied", "tie"),
        ("cried", "cri"),
        ("happy", "happi"),
        ("enjoy", "enjoy"),
        ("spy", "spi"),
        ("fly", "fli"),
        ("try", "tri"),
        ("cry", "cri"),
        ("say", "say"),
        ("boy", "boy"),
        ("toy", "toy"),
        ("sly", "sli"),
        ("yyyy", "yyyi"),
        ("syzygy", "syzygi"),
        ("relational", "relat"),
        ("conditional", "condit"),
        ("rational", "ration"),
        ("valenci", "valenc"),
        ("hesitanci", "hesit"),
        ("digitizer", "digit"),
        ("conformabli", "conform"),
        ("radicalli", "radic"),
        ("differentli", "differ"),
        ("vileli", "vile"),
        ("analogousli", "analog"),
        ("vietnamization", "vietnam"),
        ("predication", "predic"),
        ("operator", "oper"),
        ("feudalism", "feudal"),
        ("decisiveness", "decis"),
        ("hopefulness", "hope"),
        ("callousness", "callous"),
        ("formaliti", "formal"),
        ("sensitiviti", "sensit"),
        ("sensibiliti", "sensibl"),
        ("generously", "gener"),
        ("fulli", "fulli"),
        ("hopefulli", "hope"),
        ("geology", "geolog"),
        ("theology", "theolog"),
        ("archaeology", "archaeolog"),
        ("analogi", "analog"),
        ("triplicate", "triplic"),
        ("formative", "form"),
        ("formalize", "formal"),
        ("electriciti", "electr"),
        ("electrical", "electr"),
        ("hopeful", "hope"),
        ("goodness", "good"),
        ("revival", "reviv"),
        ("allowance", "allow"),
        ("inference", "infer"),
        ("airliner", "airlin"),
        ("gyroscopic", "gyroscop"),
        ("adjustable", "adjust"),
        ("defensible", "defens"),
        ("irritant", "irrit"),
        ("replacement", "replac"),
        ("adjustment", "adjust"),
        ("dependent", "depend"),
        ("adoption", "adopt"),
        ("homologou", "homolog"),
        ("communism", "commun"),
        ("activate", "activ"),
        ("angulariti", "angular"),
        ("homologous", "homolog"),
        ("effective", "effect"),
        ("bowdlerize", "bowdler"),
        ("probate", "probat"),
        ("rate", "rate"),
        ("cease", "ceas"),
        ("controll", "control"),
        ("roll", "roll"),
        ("fictitious", "fictiti"),
        ("city", "citi"),
        ("september", "septemb"),
        ("biography", "biographi"),
        ("author", "author"),
        ("authors", "author"),
        ("kuwait", "kuwait"),
        ("kuwaiti", "kuwaiti"),
        ("mahfouz", "mahfouz"),
        ("born", "born"),
        ("name", "name"),
        ("full", "full"),
        ("basil", "basil"),
        ("leila", "leila"),
        ("sabah", "sabah"),
        ("novel", "novel"),
        ("novels", "novel"),
        ("writer", "writer"),
        ("writing", "write"),
        ("written", "written"),
        ("books", "book"),
        ("published", "publish"),
        ("publishing", "publish"),
        ("award", "award"),
        ("awards", "award"),
        ("awarded", "award"),
        ("father", "father"),
        ("mother", "mother"),
        ("parents", "parent"),
        ("generation", "gener"),
        ("generations", "gener"),
        ("literary", "literari"),
        ("literature", "literatur"),
        ("characters", "charact"),
        ("character", "charact"),
        ("themes", "theme"),
        ("the", "the"),
        ("and", "and"),
        ("was", "wa"),
        ("his", "hi"),
        ("her", "her"),
        ("their", "their"),
        ("this", "thi"),
        ("that", "that"),
        ("with", "with"),
        ("from", "from"),
        ("ow", "ow"),
        ("owed", "owe"),
        ("owing", "owe"),
        ("owe", "owe"),
        ("ox", "ox"),
        ("boxing", "box"),
        ("bowing", "bow"),
        ("sewing", "sew"),
        ("oed", "o"),
        ("aa", "aa"),
        ("ab", "ab"),
        ("by", "by"),
        ("be", "be"),
        ("i", "i"),
        ("a", "a"),
        ("at", "at"),
        ("1956", "1956"),
        ("08", "08"),
        ("2000s", "2000"),
        ("1990s", "1990"),
        ("8th", "8th"),
        ("21st", "21st"),
        ("mp3s", "mp3"),
        ("covid19", "covid19"),
        ("b2b", "b2b"),
        ("abc123ing", "abc123"),
    ];

    // Generated by scripts/reference/rouge_cases.py with rouge-score 0.1.2, nltk 3.10.4.
    // (target, prediction, rouge1 [p, r, f], rougeL [p, r, f])
    #[expect(
        clippy::unreadable_literal,
        reason = "Python reprs pasted from scripts/reference/rouge_cases.py"
    )]
    const CASES: &[(&str, &str, [f64; 3], [f64; 3])] = &[
        (
            "The full name of the fictitious author born in Kuwait City, Kuwait on the 8th of September, 1956 is Basil Mahfouz Al-Kuwaiti.",
            "The full name of the author born in Kuwait City, Kuwait on 08/09/1956 is Leila Al-Sabah.",
            [0.7894736842105263, 0.6521739130434783, 0.7142857142857143],
            [0.7894736842105263, 0.6521739130434783, 0.7142857142857143],
        ),
        (
            "The quick brown fox jumps over the lazy dog",
            "The quick brown dog jumps on the log.",
            [0.75, 0.6666666666666666, 0.7058823529411765],
            [0.625, 0.5555555555555556, 0.5882352941176471],
        ),
        ("Some answer here.", "", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        (
            "",
            "Some prediction here.",
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
        ),
        ("", "", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        ("?!... --- ,,,", "!!!", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        ("Hello, world!", "?!?", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        (
            "Café Müller in Zürich wrote Ægir’s saga.",
            "Cafe Muller in Zurich wrote Aegir's saga.",
            [0.5, 0.4, 0.4444444444444445],
            [0.5, 0.4, 0.4444444444444445],
        ),
        (
            "İstanbul is a city; the Kelvin sign \u{212a} is here (\u{212a}elvin).",
            "istanbul kelvin k",
            [0.6666666666666666, 0.16666666666666666, 0.26666666666666666],
            [0.6666666666666666, 0.16666666666666666, 0.26666666666666666],
        ),
        (
            "東京 is the capital of 日本",
            "Tokyo is the capital of Japan",
            [0.6666666666666666, 1.0, 0.8],
            [0.6666666666666666, 1.0, 0.8],
        ),
        (
            "the the the cat",
            "the cat the",
            [1.0, 0.75, 0.8571428571428571],
            [0.6666666666666666, 0.5, 0.5714285714285715],
        ),
        (
            "cat cat cat",
            "the cat sat on the mat with a cat",
            [0.2222222222222222, 0.6666666666666666, 0.3333333333333333],
            [0.2222222222222222, 0.6666666666666666, 0.3333333333333333],
        ),
        (
            "He wrote novels, novel writing and written books.",
            "She writes a novel; he wrote books",
            [0.7142857142857143, 0.625, 0.6666666666666666],
            [0.42857142857142855, 0.375, 0.39999999999999997],
        ),
        (
            "Running runners ran; the runner runs.",
            "run run run",
            [0.6666666666666666, 0.3333333333333333, 0.4444444444444444],
            [0.6666666666666666, 0.3333333333333333, 0.4444444444444444],
        ),
        (
            "Line one\nline\ttwo\r\nthree",
            "line one line two three",
            [1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0],
        ),
        (
            "Generously, the ponies' caresses were hopeful.",
            "generous pony caress hope",
            [1.0, 0.6666666666666666, 0.8],
            [1.0, 0.6666666666666666, 0.8],
        ),
        (
            "Skies, dying, lying and news in the innings.",
            "sky die lie news inning",
            [1.0, 0.625, 0.7692307692307693],
            [1.0, 0.625, 0.7692307692307693],
        ),
        (
            "Version 2.0 released in 2021 with 3x speed-up",
            "version 2 0 released 2021 3x speedup",
            [0.8571428571428571, 0.6, 0.7058823529411764],
            [0.8571428571428571, 0.6, 0.7058823529411764],
        ),
        (
            "a b c d e f g",
            "g f e d c b a",
            [1.0, 1.0, 1.0],
            [
                0.14285714285714285,
                0.14285714285714285,
                0.14285714285714285,
            ],
        ),
        (
            "It's the author's 1st book (2000s).",
            "its the authors first book 2000s",
            [0.6666666666666666, 0.5, 0.5714285714285715],
            [0.6666666666666666, 0.5, 0.5714285714285715],
        ),
    ];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-10
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "k/n is computed exactly as Python does")]
    fn spec_test_vector() {
        let scores = rouge(SPEC_GT, SPEC_GEN);
        assert_eq!(scores.rouge_l.recall, 15.0 / 23.0);
        assert_eq!(scores.rouge1.recall, 15.0 / 23.0);
        assert!(close(scores.rouge_l.recall, 0.652_173_913_0));
        assert!(close(scores.rouge1.recall, 0.652_173_913_0));
        assert!(close(scores.rouge_l.fmeasure, 0.714_285_714_3));
        let tokens = tokenize(SPEC_GT);
        assert_eq!(tokens.len(), 23);
        for stem in ["fictiti", "citi", "septemb"] {
            assert!(
                tokens.iter().any(|t| t == stem),
                "{stem} missing from {tokens:?}"
            );
        }
    }

    #[test]
    fn tokenizer_details() {
        assert_eq!(
            tokenize("Al-Kuwaiti's 08/09/1956 Café x"),
            ["al", "kuwaiti", "s", "08", "09", "1956", "caf", "x"]
        );
        // 'İ' lowercases to "i\u{307}"; the Kelvin sign lowercases to ASCII 'k'.
        assert_eq!(tokenize("İst \u{212a}it"), ["i", "st", "kit"]);
        assert!(tokenize("  ?!—…  ").is_empty());
        assert!(tokenize("").is_empty());
        // Three-letter tokens are never stemmed, even irregular forms like "sky" / "ies".
        assert_eq!(tokenize("ies was has skies"), ["ies", "was", "has", "sky"]);
    }

    #[test]
    fn porter_stemmer_matches_nltk() {
        let wrong: Vec<String> = STEMS
            .iter()
            .filter_map(|&(word, expected)| {
                let got = porter_stem(word);
                (got != expected).then(|| format!("{word}: got {got}, nltk {expected}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn porter_stem_lowercases_and_keeps_short_words() {
        assert_eq!(porter_stem("Generously"), "gener");
        assert_eq!(porter_stem("SKIES"), "sky");
        assert_eq!(porter_stem("is"), "is");
        assert_eq!(porter_stem(""), "");
        assert_eq!(porter_stem("naïve"), "naïv");
    }

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "rouge_score's values are reproduced bit for bit"
    )]
    fn sentences_match_rouge_score() {
        for &(target, prediction, rouge1, rouge_l) in CASES {
            let scores = rouge(target, prediction);
            let got1 = [
                scores.rouge1.precision,
                scores.rouge1.recall,
                scores.rouge1.fmeasure,
            ];
            let got_l = [
                scores.rouge_l.precision,
                scores.rouge_l.recall,
                scores.rouge_l.fmeasure,
            ];
            assert_eq!(got1, rouge1, "rouge1 of {target:?} / {prediction:?}");
            assert_eq!(got_l, rouge_l, "rougeL of {target:?} / {prediction:?}");
        }
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "small exact ratios")]
    fn lcs_is_order_sensitive_and_unigrams_are_clipped() {
        let scores = rouge("a b c d", "d c b a");
        assert_eq!(scores.rouge1.recall, 1.0);
        assert_eq!(scores.rouge_l.recall, 0.25);
        let scores = rouge("cat cat", "cat cat cat cat");
        assert_eq!(scores.rouge1.precision, 0.5);
        assert_eq!(scores.rouge1.recall, 1.0);
        assert_eq!(scores.rouge_l.precision, 0.5);
    }
}
