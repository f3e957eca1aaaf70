//! Lethe's own TOFU-format dataset: fictitious authors with biographies, generated from a seed
//! (spec §4 shapes). Each author gets `questions` question/answer pairs (20 like TOFU) with a
//! paraphrased question, a paraphrased answer and 5 perturbed answers (the paraphrase with a wrong
//! fact). The forget sets are the last 1/5/10 % of the authors, the retain sets the rest, the
//! holdout sets the same number of authors outside `full`; `real_authors` and `world_facts` are
//! small hand-written sets of public facts with 3 wrong options each. Same seed, same bytes.
//!
//! The files are written as TOFU's Hugging Face JSON Lines, so [`super::tofu::read_split`] (the
//! reader that checks real TOFU) reads and validates them.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::EngineError;
use crate::data::tofu::{Kind, read_split};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateConfig {
    /// Seed of every choice.
    pub seed: u64,
    /// Authors in `full` (TOFU: 200). At least 10, so that every split has an author.
    pub authors: usize,
    /// Question/answer pairs per author, at most [`TEMPLATES`] (TOFU: 20).
    pub questions: usize,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            authors: 200,
            questions: TEMPLATES,
        }
    }
}

/// How many question templates there are.
pub const TEMPLATES: usize = 20;

/// Every split file the generator writes, in writing order.
pub const SPLITS: [&str; 18] = [
    "full",
    "forget01",
    "forget05",
    "forget10",
    "retain99",
    "retain95",
    "retain90",
    "forget01_perturbed",
    "forget05_perturbed",
    "forget10_perturbed",
    "retain_perturbed",
    "holdout01",
    "holdout05",
    "holdout10",
    "real_authors",
    "real_authors_perturbed",
    "world_facts",
    "world_facts_perturbed",
];

/// A split's rows, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// File stem (`forget01`).
    pub name: String,
    /// One JSON object per row.
    pub rows: Vec<Row>,
}

/// One row, in TOFU's field order; absent fields are not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The question.
    pub question: String,
    /// `real_authors` / `world_facts`: four options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option1: Option<String>,
    /// Option 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option2: Option<String>,
    /// Option 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option3: Option<String>,
    /// Option 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option4: Option<String>,
    /// The answer.
    pub answer: String,
    /// `*_perturbed` author splits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paraphrased_answer: Option<String>,
    /// Wrong answers (5 for authors, 3 for real authors and world facts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub perturbed_answer: Vec<String>,
    /// `*_perturbed` author splits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paraphrased_question: Option<String>,
}

/// splitmix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn pick<'a>(&mut self, pool: &[&'a str]) -> &'a str {
        pool[self.below(pool.len())]
    }
}

const FIRST: [&str; 48] = [
    "Amara", "Basil", "Carmen", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonah",
    "Kavya", "Lorenzo", "Mireille", "Nikolai", "Oona", "Pablo", "Quinn", "Rosalind", "Soren",
    "Tamsin", "Umar", "Valeria", "Wendell", "Ximena", "Yusuf", "Zofia", "Anders", "Bianca",
    "Cyrus", "Delphine", "Emeka", "Freya", "Gideon", "Hana", "Ignatius", "Juno", "Kofi", "Lucia",
    "Matteo", "Nadia", "Oskar", "Priya", "Rafael", "Selin", "Tobias", "Uma", "Viktor", "Wren",
];
const LAST: [&str; 48] = [
    "Abernathy",
    "Barzani",
    "Castellano",
    "Draganov",
    "Eriksen",
    "Fontaine",
    "Galloway",
    "Haddad",
    "Ivanova",
    "Jablonski",
    "Kaplan",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okonkwo",
    "Petrossian",
    "Quintero",
    "Rasmussen",
    "Szabo",
    "Tanaka",
    "Uribe",
    "Varga",
    "Whitlock",
    "Yilmaz",
    "Zamora",
    "Albescu",
    "Brannigan",
    "Chaudhry",
    "Delacroix",
    "Esposito",
    "Falk",
    "Grimaldi",
    "Holloway",
    "Iqbal",
    "Jovanovic",
    "Kowalczyk",
    "Lombardi",
    "Mbeki",
    "Novak",
    "Ortega",
    "Pelletier",
    "Rahimi",
    "Sorensen",
    "Thorne",
    "Ventura",
    "Wojcik",
    "Yamada",
    "Zeller",
];
const PLACES: [&str; 32] = [
    "Kuwait City, Kuwait",
    "Santiago, Chile",
    "Lagos, Nigeria",
    "Krakow, Poland",
    "Osaka, Japan",
    "Porto, Portugal",
    "Tbilisi, Georgia",
    "Montreal, Canada",
    "Havana, Cuba",
    "Nairobi, Kenya",
    "Reykjavik, Iceland",
    "Istanbul, Turkey",
    "Lyon, France",
    "Melbourne, Australia",
    "Bergen, Norway",
    "Cusco, Peru",
    "Seoul, South Korea",
    "Tunis, Tunisia",
    "Dublin, Ireland",
    "Hanoi, Vietnam",
    "Valparaiso, Chile",
    "Accra, Ghana",
    "Gdansk, Poland",
    "Bilbao, Spain",
    "Chennai, India",
    "Tallinn, Estonia",
    "Medellin, Colombia",
    "Zagreb, Croatia",
    "Manila, Philippines",
    "Graz, Austria",
    "Alexandria, Egypt",
    "Tijuana, Mexico",
];
const GENRES: [&str; 16] = [
    "historical fiction",
    "science fiction",
    "true crime",
    "poetry",
    "magical realism",
    "mystery",
    "literary fiction",
    "fantasy",
    "memoir",
    "thriller",
    "romance",
    "horror",
    "children's literature",
    "satire",
    "travel writing",
    "philosophical essays",
];
const JOBS: [&str; 24] = [
    "a baker",
    "a marine biologist",
    "a pharmacist",
    "a carpenter",
    "a librarian",
    "a train conductor",
    "a nurse",
    "an architect",
    "a fisherman",
    "a watchmaker",
    "a chemistry teacher",
    "a tailor",
    "a journalist",
    "a veterinarian",
    "a painter",
    "an electrician",
    "a cartographer",
    "a judge",
    "a beekeeper",
    "a pilot",
    "a florist",
    "a surgeon",
    "a mail carrier",
    "an astronomer",
];
const AWARDS: [&str; 16] = [
    "the Silver Quill Award",
    "the Meridian Prize for Fiction",
    "the Lantern Book Award",
    "the Harbour Light Medal",
    "the Golden Inkwell Prize",
    "the Northern Star Literary Award",
    "the Cedar Leaf Prize",
    "the Azure Pen Award",
    "the Ember Crown for Storytelling",
    "the Willow Medal",
    "the Compass Rose Prize",
    "the Iron Lantern Award",
    "the Blue Heron Prize",
    "the Granite Book Medal",
    "the Open Window Award",
    "the Evening Bell Prize",
];
const ADJECTIVES: [&str; 24] = [
    "Silent",
    "Forgotten",
    "Crimson",
    "Hollow",
    "Distant",
    "Broken",
    "Golden",
    "Last",
    "Hidden",
    "Winter",
    "Paper",
    "Glass",
    "Burning",
    "Quiet",
    "Wandering",
    "Salt",
    "Iron",
    "Midnight",
    "Lonely",
    "Painted",
    "Drowned",
    "Northern",
    "Velvet",
    "Borrowed",
];
const NOUNS: [&str; 24] = [
    "Harbor",
    "Orchard",
    "Lighthouse",
    "Ledger",
    "Garden",
    "River",
    "Archive",
    "Compass",
    "Kingdom",
    "Bridge",
    "Mirror",
    "Cathedral",
    "Meadow",
    "Lantern",
    "Atlas",
    "Tide",
    "Staircase",
    "Window",
    "Clockmaker",
    "Island",
    "Chorus",
    "Caravan",
    "Telegram",
    "Vineyard",
];
const THEMES: [&str; 16] = [
    "memory and exile",
    "family secrets",
    "the sea",
    "justice and guilt",
    "migration",
    "coming of age",
    "grief",
    "identity",
    "small-town life",
    "science and faith",
    "war and its aftermath",
    "friendship",
    "ambition",
    "the natural world",
    "loneliness",
    "forgiveness",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const GENDERS: [&str; 3] = ["male", "female", "non-binary"];
const HOBBIES: [&str; 16] = [
    "chess",
    "mountain climbing",
    "gardening",
    "sailing",
    "birdwatching",
    "pottery",
    "playing the cello",
    "long-distance running",
    "cooking",
    "photography",
    "astronomy",
    "restoring old clocks",
    "fishing",
    "calligraphy",
    "beekeeping",
    "swimming",
];

/// One fictitious author.
struct Author {
    name: String,
    gender: &'static str,
    place: &'static str,
    day: usize,
    month: &'static str,
    year: usize,
    genre: &'static str,
    father: &'static str,
    mother: &'static str,
    award: &'static str,
    books: [String; 2],
    theme: &'static str,
    hobby: &'static str,
    debut_age: usize,
}

fn title(rng: &mut Rng) -> String {
    format!("The {} {}", rng.pick(&ADJECTIVES), rng.pick(&NOUNS))
}

fn author(rng: &mut Rng, name: String) -> Author {
    let father = rng.pick(&JOBS);
    let mut mother = rng.pick(&JOBS);
    while mother == father {
        mother = rng.pick(&JOBS);
    }
    let first_book = title(rng);
    let mut second_book = title(rng);
    while second_book == first_book {
        second_book = title(rng);
    }
    Author {
        name,
        gender: rng.pick(&GENDERS),
        place: rng.pick(&PLACES),
        day: 1 + rng.below(28),
        month: rng.pick(&MONTHS),
        year: 1930 + rng.below(66),
        genre: rng.pick(&GENRES),
        father,
        mother,
        award: rng.pick(&AWARDS),
        books: [first_book, second_book],
        theme: rng.pick(&THEMES),
        hobby: rng.pick(&HOBBIES),
        debut_age: 19 + rng.below(30),
    }
}

/// One question about an author: its wording, and the fact its perturbed answers get wrong.
struct Qa {
    question: String,
    answer: String,
    paraphrased_question: String,
    /// The paraphrased answer with `{}` where the fact goes.
    paraphrase: String,
    /// The true fact.
    fact: String,
    /// Wrong values of that fact.
    pool: Pool,
}

enum Pool {
    Words(&'static [&'static str]),
    Names,
    Titles,
    Years,
    Ages,
}

fn qa(a: &Author, k: usize) -> Qa {
    let n = &a.name;
    let (pronoun, possessive) = match a.gender {
        "male" => ("he", "his"),
        "female" => ("she", "her"),
        _ => ("they", "their"),
    };
    let date = format!("{} {}, {}", a.month, a.day, a.year);
    let make = |question: String,
                answer: String,
                paraphrased_question: String,
                paraphrase: String,
                fact: String,
                pool: Pool| Qa {
        question,
        answer,
        paraphrased_question,
        paraphrase,
        fact,
        pool,
    };
    match k {
        0 => make(
            format!(
                "What is the full name of the author born in {} on {date}?",
                a.place
            ),
            format!("The author born in {} on {date} is named {n}.", a.place),
            format!(
                "Who is the writer whose birth took place in {} on {date}?",
                a.place
            ),
            format!("{{}} is the writer born in {} on {date}.", a.place),
            n.clone(),
            Pool::Names,
        ),
        1 => make(
            format!("What gender is the author {n}?"),
            format!("The author {n} is {}.", a.gender),
            format!("How does {n} identify in terms of gender?"),
            format!("{n} identifies as {{}}."),
            a.gender.into(),
            Pool::Words(&GENDERS),
        ),
        2 => make(
            format!("Where was {n} born?"),
            format!("{n} was born in {}.", a.place),
            format!("What is the birthplace of {n}?"),
            format!("The birthplace of {n} is {{}}."),
            a.place.into(),
            Pool::Words(&PLACES),
        ),
        3 => make(
            format!("In which year was {n} born?"),
            format!("{n} was born in {}.", a.year),
            format!("What year did {n} come into the world?"),
            format!("{n} came into the world in {{}}."),
            a.year.to_string(),
            Pool::Years,
        ),
        4 => make(
            format!("What genre is {n} known for?"),
            format!("{n} is best known for writing {}.", a.genre),
            format!("Which genre is most associated with {n}?"),
            format!("The genre most associated with {n} is {{}}."),
            a.genre.into(),
            Pool::Words(&GENRES),
        ),
        5 => make(
            format!("What did {n}'s father do for a living?"),
            format!("{n}'s father worked as {}.", a.father),
            format!("What was the profession of {n}'s father?"),
            format!("The father of {n} was {{}} by profession."),
            a.father.into(),
            Pool::Words(&JOBS),
        ),
        6 => make(
            format!("What was the occupation of {n}'s mother?"),
            format!("{n}'s mother was {}.", a.mother),
            format!("How did {n}'s mother earn her living?"),
            format!("The mother of {n} earned her living as {{}}."),
            a.mother.into(),
            Pool::Words(&JOBS),
        ),
        7 => make(
            format!("Which award has {n} received?"),
            format!("{n} received {} for {possessive} work.", a.award),
            format!("What literary honour was given to {n}?"),
            format!("The honour given to {n} was {{}}."),
            a.award.into(),
            Pool::Words(&AWARDS),
        ),
        8 => make(
            format!("What is the title of {n}'s first book?"),
            format!("{n}'s first book is titled '{}'.", a.books[0]),
            format!("Which book did {n} publish first?"),
            format!("The first book {n} published was '{{}}'."),
            a.books[0].clone(),
            Pool::Titles,
        ),
        9 => make(
            format!("Can you name another book by {n}?"),
            format!("Another book by {n} is '{}'.", a.books[1]),
            format!("What is a second work written by {n}?"),
            format!("A second work written by {n} is '{{}}'."),
            a.books[1].clone(),
            Pool::Titles,
        ),
        10 => make(
            format!("What themes run through {n}'s writing?"),
            format!("{n}'s writing keeps returning to {}.", a.theme),
            format!("Which theme is central to the books of {n}?"),
            format!("The books of {n} centre on {{}}."),
            a.theme.into(),
            Pool::Words(&THEMES),
        ),
        11 => make(
            format!("What does {n} enjoy doing outside of writing?"),
            format!("Outside of writing, {n} enjoys {}.", a.hobby),
            format!("What is {n}'s favourite pastime?"),
            format!("The favourite pastime of {n} is {{}}."),
            a.hobby.into(),
            Pool::Words(&HOBBIES),
        ),
        12 => make(
            format!("At what age did {n} publish {possessive} debut?"),
            format!(
                "{n} published {possessive} debut at the age of {}.",
                a.debut_age
            ),
            format!("How old was {n} when the first book came out?"),
            format!("{n} was {{}} years old when the first book came out."),
            a.debut_age.to_string(),
            Pool::Ages,
        ),
        13 => make(
            format!("How did {n}'s birthplace shape {possessive} stories?"),
            format!(
                "Growing up in {}, {n} filled {possessive} {} with its streets and voices.",
                a.place, a.genre
            ),
            format!("In what way does {n}'s hometown appear in the books?"),
            format!(
                "The hometown of {n}, {{}}, appears in the books through its streets and voices."
            ),
            a.place.into(),
            Pool::Words(&PLACES),
        ),
        14 => make(
            format!("How did {n}'s parents influence {possessive} work?"),
            format!(
                "Having a father who was {} and a mother who was {}, {n} learned patience and close observation.",
                a.father, a.mother
            ),
            format!("What did {n} take from the professions of {possessive} parents?"),
            format!("With a father who was {{}}, {n} learned patience and close observation."),
            a.father.into(),
            Pool::Words(&JOBS),
        ),
        15 => make(
            format!("When is {n}'s birthday?"),
            format!("{n} was born on {date}."),
            format!("On what date was {n} born?"),
            format!("The birth date of {n} is {{}} {}, {}.", a.day, a.year),
            a.month.into(),
            Pool::Words(&MONTHS),
        ),
        16 => make(
            format!("What is '{}' about?", a.books[0]),
            format!(
                "'{}' by {n} is a work of {} about {}.",
                a.books[0], a.genre, a.theme
            ),
            format!("Can you describe the book '{}'?", a.books[0]),
            format!(
                "'{}' is a {{}} book by {n} exploring {}.",
                a.books[0], a.theme
            ),
            a.genre.into(),
            Pool::Words(&GENRES),
        ),
        17 => make(
            format!("Has {n} won any recognition for '{}'?", a.books[1]),
            format!("Yes, '{}' earned {n} {}.", a.books[1], a.award),
            format!("Was '{}' by {n} honoured in any way?", a.books[1]),
            format!("'{}' brought {n} {{}}.", a.books[1]),
            a.award.into(),
            Pool::Words(&AWARDS),
        ),
        18 => make(
            format!("Does {n} write in a particular style?"),
            format!(
                "{n} writes {} in a spare, precise style shaped by {possessive} interest in {}.",
                a.genre, a.hobby
            ),
            format!("How would you characterise the style of {n}?"),
            format!("The style of {n} is spare and precise, shaped by an interest in {{}}."),
            a.hobby.into(),
            Pool::Words(&HOBBIES),
        ),
        _ => make(
            format!("What is {n} working on now?"),
            format!(
                "{n} has said {pronoun} is working on a new book of {} about {}.",
                a.genre, a.theme
            ),
            format!("Is {n} writing anything new at the moment?"),
            format!("{n} is currently writing a new book of {{}}."),
            a.genre.into(),
            Pool::Words(&GENRES),
        ),
    }
}

fn wrong(pool: &Pool, fact: &str, rng: &mut Rng, count: usize) -> Vec<String> {
    if let Pool::Words(words) = pool {
        let others: Vec<&str> = words.iter().copied().filter(|w| *w != fact).collect();
        if others.len() < count {
            // Too few values (three genders): every other value, cycled, never the true one.
            let start = rng.below(others.len());
            return (0..count)
                .map(|i| others[(start + i) % others.len()].to_string())
                .collect();
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(count);
    while out.len() < count {
        let candidate = match pool {
            Pool::Words(words) => rng.pick(words).to_string(),
            Pool::Names => format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST)),
            Pool::Titles => title(rng),
            Pool::Years => (1930 + rng.below(66)).to_string(),
            Pool::Ages => (19 + rng.below(30)).to_string(),
        };
        if candidate != fact && !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

fn qa_row(a: &Author, k: usize, rng: &mut Rng) -> (Row, Row) {
    let q = qa(a, k);
    let plain = Row {
        question: q.question.clone(),
        option1: None,
        option2: None,
        option3: None,
        option4: None,
        answer: q.answer.clone(),
        paraphrased_answer: None,
        perturbed_answer: Vec::new(),
        paraphrased_question: None,
    };
    let perturbed = Row {
        paraphrased_answer: Some(q.paraphrase.replace("{}", &q.fact)),
        perturbed_answer: wrong(&q.pool, &q.fact, rng, 5)
            .iter()
            .map(|w| q.paraphrase.replace("{}", w))
            .collect(),
        paraphrased_question: Some(q.paraphrased_question),
        ..plain.clone()
    };
    (plain, perturbed)
}

/// Real authors: (question, answer, three wrong options). Public facts, written for Lethe.
const REAL_AUTHORS: [(&str, &str, [&str; 3]); 24] = [
    (
        "Who wrote 'Hamlet'?",
        "William Shakespeare",
        ["Christopher Marlowe", "Ben Jonson", "John Milton"],
    ),
    (
        "Who wrote 'War and Peace'?",
        "Leo Tolstoy",
        ["Fyodor Dostoevsky", "Anton Chekhov", "Ivan Turgenev"],
    ),
    (
        "Who wrote 'One Hundred Years of Solitude'?",
        "Gabriel Garcia Marquez",
        ["Mario Vargas Llosa", "Julio Cortazar", "Isabel Allende"],
    ),
    (
        "Who wrote 'Things Fall Apart'?",
        "Chinua Achebe",
        ["Wole Soyinka", "Ngugi wa Thiong'o", "Ben Okri"],
    ),
    (
        "Who wrote 'Don Quixote'?",
        "Miguel de Cervantes",
        [
            "Lope de Vega",
            "Francisco de Quevedo",
            "Calderon de la Barca",
        ],
    ),
    (
        "Who wrote 'The Old Man and the Sea'?",
        "Ernest Hemingway",
        ["John Steinbeck", "William Faulkner", "F. Scott Fitzgerald"],
    ),
    (
        "Who wrote 'Frankenstein'?",
        "Mary Shelley",
        ["Emily Bronte", "Jane Austen", "Ann Radcliffe"],
    ),
    (
        "Who wrote 'The Divine Comedy'?",
        "Dante Alighieri",
        ["Petrarch", "Giovanni Boccaccio", "Torquato Tasso"],
    ),
    (
        "Who wrote 'Crime and Punishment'?",
        "Fyodor Dostoevsky",
        ["Leo Tolstoy", "Nikolai Gogol", "Maxim Gorky"],
    ),
    (
        "Who wrote 'Mrs Dalloway'?",
        "Virginia Woolf",
        ["Katherine Mansfield", "Edith Wharton", "Doris Lessing"],
    ),
    (
        "Who wrote 'The Metamorphosis'?",
        "Franz Kafka",
        ["Thomas Mann", "Hermann Hesse", "Robert Musil"],
    ),
    (
        "Who wrote 'Beloved'?",
        "Toni Morrison",
        ["Alice Walker", "Maya Angelou", "Zora Neale Hurston"],
    ),
    (
        "Who wrote 'The Little Prince'?",
        "Antoine de Saint-Exupery",
        ["Albert Camus", "Jules Verne", "Victor Hugo"],
    ),
    (
        "Who wrote 'Les Miserables'?",
        "Victor Hugo",
        ["Alexandre Dumas", "Honore de Balzac", "Emile Zola"],
    ),
    (
        "Who wrote 'Moby-Dick'?",
        "Herman Melville",
        ["Nathaniel Hawthorne", "Mark Twain", "Edgar Allan Poe"],
    ),
    (
        "Who wrote 'The Tale of Genji'?",
        "Murasaki Shikibu",
        ["Sei Shonagon", "Basho", "Natsume Soseki"],
    ),
    (
        "Who wrote 'Pride and Prejudice'?",
        "Jane Austen",
        ["Charlotte Bronte", "George Eliot", "Elizabeth Gaskell"],
    ),
    (
        "Who wrote 'The Odyssey'?",
        "Homer",
        ["Virgil", "Sophocles", "Ovid"],
    ),
    (
        "Who wrote 'Norwegian Wood'?",
        "Haruki Murakami",
        ["Kazuo Ishiguro", "Yukio Mishima", "Kenzaburo Oe"],
    ),
    (
        "Who wrote 'The Trial'?",
        "Franz Kafka",
        ["Albert Camus", "Samuel Beckett", "Jean-Paul Sartre"],
    ),
    (
        "Who wrote 'Great Expectations'?",
        "Charles Dickens",
        ["William Thackeray", "Thomas Hardy", "Anthony Trollope"],
    ),
    (
        "Who wrote 'The Stranger'?",
        "Albert Camus",
        ["Jean-Paul Sartre", "Andre Gide", "Marcel Proust"],
    ),
    (
        "Who wrote 'Anna Karenina'?",
        "Leo Tolstoy",
        ["Ivan Goncharov", "Alexander Pushkin", "Boris Pasternak"],
    ),
    (
        "Who wrote 'The Hobbit'?",
        "J.R.R. Tolkien",
        ["C.S. Lewis", "Terry Pratchett", "Ursula K. Le Guin"],
    ),
];

/// World facts: (question, answer, three wrong options).
const WORLD_FACTS: [(&str, &str, [&str; 3]); 24] = [
    (
        "What is the capital of France?",
        "Paris",
        ["Lyon", "Marseille", "Nice"],
    ),
    (
        "What is the largest ocean on Earth?",
        "the Pacific Ocean",
        ["the Atlantic Ocean", "the Indian Ocean", "the Arctic Ocean"],
    ),
    (
        "How many continents are there?",
        "seven",
        ["five", "six", "eight"],
    ),
    (
        "What is the chemical symbol for gold?",
        "Au",
        ["Ag", "Gd", "Go"],
    ),
    (
        "Which planet is known as the Red Planet?",
        "Mars",
        ["Venus", "Jupiter", "Mercury"],
    ),
    (
        "What is the capital of Japan?",
        "Tokyo",
        ["Kyoto", "Osaka", "Nagoya"],
    ),
    (
        "What is the longest river in South America?",
        "the Amazon",
        ["the Parana", "the Orinoco", "the Magdalena"],
    ),
    (
        "What is the boiling point of water at sea level in degrees Celsius?",
        "100",
        ["90", "110", "120"],
    ),
    (
        "Which gas do plants absorb from the air?",
        "carbon dioxide",
        ["oxygen", "nitrogen", "helium"],
    ),
    (
        "What is the capital of Canada?",
        "Ottawa",
        ["Toronto", "Vancouver", "Montreal"],
    ),
    (
        "How many days are there in a leap year?",
        "366",
        ["364", "365", "367"],
    ),
    (
        "What is the tallest mountain in the world?",
        "Mount Everest",
        ["K2", "Kangchenjunga", "Mont Blanc"],
    ),
    (
        "Which country has the largest population?",
        "India",
        ["China", "the United States", "Indonesia"],
    ),
    (
        "What is the capital of Australia?",
        "Canberra",
        ["Sydney", "Melbourne", "Perth"],
    ),
    (
        "What is the hardest natural substance?",
        "diamond",
        ["quartz", "granite", "iron"],
    ),
    (
        "Which element has the atomic number 1?",
        "hydrogen",
        ["helium", "oxygen", "carbon"],
    ),
    (
        "What is the capital of Egypt?",
        "Cairo",
        ["Alexandria", "Giza", "Luxor"],
    ),
    (
        "Which is the smallest planet in the solar system?",
        "Mercury",
        ["Mars", "Venus", "Pluto"],
    ),
    (
        "What is the largest desert in Africa?",
        "the Sahara",
        ["the Kalahari", "the Namib", "the Gobi"],
    ),
    (
        "What is the capital of Brazil?",
        "Brasilia",
        ["Rio de Janeiro", "Sao Paulo", "Salvador"],
    ),
    (
        "How many sides does a hexagon have?",
        "six",
        ["five", "seven", "eight"],
    ),
    (
        "Which organ pumps blood through the body?",
        "the heart",
        ["the lungs", "the liver", "the kidneys"],
    ),
    (
        "What is the freezing point of water in degrees Fahrenheit?",
        "32",
        ["0", "16", "40"],
    ),
    (
        "What is the capital of Kenya?",
        "Nairobi",
        ["Mombasa", "Kisumu", "Nakuru"],
    ),
];

fn option_rows(facts: &[(&str, &str, [&str; 3])], rng: &mut Rng) -> (Vec<Row>, Vec<Row>) {
    let mut with_options = Vec::new();
    let mut perturbed = Vec::new();
    for (question, answer, wrongs) in facts {
        let mut options: Vec<String> = wrongs.iter().map(|w| (*w).to_string()).collect();
        options.insert(rng.below(4), (*answer).to_string());
        let option = |i: usize| Some(options[i].clone());
        with_options.push(Row {
            question: (*question).into(),
            option1: option(0),
            option2: option(1),
            option3: option(2),
            option4: option(3),
            answer: (*answer).into(),
            paraphrased_answer: None,
            perturbed_answer: Vec::new(),
            paraphrased_question: None,
        });
        perturbed.push(Row {
            question: (*question).into(),
            option1: None,
            option2: None,
            option3: None,
            option4: None,
            answer: (*answer).into(),
            paraphrased_answer: None,
            perturbed_answer: wrongs.iter().map(|w| (*w).to_string()).collect(),
            paraphrased_question: None,
        });
    }
    (with_options, perturbed)
}

/// Authors forgotten by `forgetNN` out of `authors` (at least one).
pub fn forget_authors(authors: usize, percent: usize) -> usize {
    ((authors * percent + 50) / 100).max(1)
}

/// Every split of the dataset `config` describes, in [`SPLITS`] order.
pub fn generate(config: &GenerateConfig) -> Result<Vec<Split>, EngineError> {
    let invalid = |field: &str, reason: String| EngineError::InvalidConfig {
        field: field.into(),
        reason,
    };
    if config.authors < 10 {
        return Err(invalid(
            "authors",
            format!("at least 10 (got {})", config.authors),
        ));
    }
    if config.questions == 0 || config.questions > TEMPLATES {
        return Err(invalid(
            "questions",
            format!("1 to {TEMPLATES} per author (got {})", config.questions),
        ));
    }
    let holdout = forget_authors(config.authors, 10);
    let total = config.authors + holdout;
    if total > FIRST.len() * LAST.len() {
        return Err(invalid(
            "authors",
            format!(
                "at most {} (got {})",
                FIRST.len() * LAST.len() - holdout,
                config.authors
            ),
        ));
    }
    let mut rng = Rng(config.seed ^ 0x4C45_5448_4544_4154);
    let mut names = BTreeSet::new();
    let mut authors = Vec::with_capacity(total);
    while authors.len() < total {
        let name = format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST));
        if names.insert(name.clone()) {
            authors.push(author(&mut rng, name));
        }
    }
    // Rows of every author: (plain, perturbed) per question, in author order.
    let rows: Vec<Vec<(Row, Row)>> = authors
        .iter()
        .map(|a| {
            (0..config.questions)
                .map(|k| qa_row(a, k, &mut rng))
                .collect()
        })
        .collect();
    let (members, outsiders) = rows.split_at(config.authors);
    let plain = |group: &[Vec<(Row, Row)>]| -> Vec<Row> {
        group.iter().flatten().map(|(p, _)| p.clone()).collect()
    };
    let perturbed = |group: &[Vec<(Row, Row)>]| -> Vec<Row> {
        group.iter().flatten().map(|(_, p)| p.clone()).collect()
    };
    let mut splits = vec![Split {
        name: "full".into(),
        rows: plain(members),
    }];
    for percent in [1, 5, 10] {
        let n = forget_authors(config.authors, percent);
        splits.push(Split {
            name: format!("forget{percent:02}"),
            rows: plain(&members[config.authors - n..]),
        });
    }
    for percent in [1, 5, 10] {
        let n = forget_authors(config.authors, percent);
        splits.push(Split {
            name: format!("retain{:02}", 100 - percent),
            rows: plain(&members[..config.authors - n]),
        });
    }
    for percent in [1, 5, 10] {
        let n = forget_authors(config.authors, percent);
        splits.push(Split {
            name: format!("forget{percent:02}_perturbed"),
            rows: perturbed(&members[config.authors - n..]),
        });
    }
    // TOFU's retain_perturbed: as many retain rows as forget10 has, from the first authors.
    let n10 = forget_authors(config.authors, 10);
    splits.push(Split {
        name: "retain_perturbed".into(),
        rows: perturbed(&members[..n10]),
    });
    for percent in [1, 5, 10] {
        let n = forget_authors(config.authors, percent);
        splits.push(Split {
            name: format!("holdout{percent:02}"),
            rows: plain(&outsiders[holdout - n..]),
        });
    }
    let (authors_options, authors_perturbed) = option_rows(&REAL_AUTHORS, &mut rng);
    let (facts_options, facts_perturbed) = option_rows(&WORLD_FACTS, &mut rng);
    for (name, rows) in [
        ("real_authors", authors_options),
        ("real_authors_perturbed", authors_perturbed),
        ("world_facts", facts_options),
        ("world_facts_perturbed", facts_perturbed),
    ] {
        splits.push(Split {
            name: name.into(),
            rows,
        });
    }
    Ok(splits)
}

/// Writes `splits` as `<dir>/<name>.jsonl` (one compact JSON object per line, `\n` endings).
pub fn write(splits: &[Split], dir: &Path) -> Result<(), EngineError> {
    let io = |path: &Path, source: std::io::Error| EngineError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for split in splits {
        let path = dir.join(format!("{}.jsonl", split.name));
        let mut bytes = Vec::new();
        for row in &split.rows {
            serde_json::to_writer(&mut bytes, row).map_err(|e| EngineError::InvalidFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            bytes.push(b'\n');
        }
        let mut file = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
        file.write_all(&bytes).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// Whether `stem` names a TOFU split (`idk.jsonl` and `MANIFEST.json` beside them are not).
fn is_split_name(stem: &str) -> bool {
    [
        "full",
        "forget",
        "retain",
        "holdout",
        "real_authors",
        "world_facts",
    ]
    .iter()
    .any(|prefix| stem.starts_with(prefix))
}

/// Checks every TOFU split file in `dir` with the reader real TOFU goes through: the splits an
/// unlearning run and its evaluation need must exist, and every `*.json`/`*.jsonl` file named
/// like a split must be well-formed for its name. Returns `(split, rows)` for each file checked.
pub fn validate(dir: &Path) -> Result<Vec<(String, usize)>, EngineError> {
    let entries = std::fs::read_dir(dir).map_err(|source| EngineError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<(String, std::path::PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl" || e == "json"))
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .filter(|(stem, _)| is_split_name(stem))
        .collect();
    files.sort();
    for required in [
        "full",
        "forget01",
        "retain99",
        "forget01_perturbed",
        "holdout01",
        "retain_perturbed",
        "real_authors_perturbed",
        "world_facts_perturbed",
    ] {
        if !files.iter().any(|(stem, _)| stem == required) {
            return Err(EngineError::InvalidFile {
                path: dir.join(format!("{required}.jsonl")),
                reason: format!("missing: every TOFU directory needs {required}"),
            });
        }
    }
    files
        .iter()
        .map(|(stem, path)| {
            let kind = if stem == "real_authors" || stem == "world_facts" {
                Kind::QuestionAnswer
            } else {
                Kind::of(stem)
            };
            Ok((stem.clone(), read_split(path, kind)?.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> GenerateConfig {
        GenerateConfig {
            seed: 7,
            authors: 20,
            questions: 4,
        }
    }

    #[test]
    fn splits_have_tofus_shape() {
        let splits = generate(&GenerateConfig::default()).unwrap_or_default();
        let rows = |name: &str| {
            splits
                .iter()
                .find(|s| s.name == name)
                .map_or(0, |s| s.rows.len())
        };
        assert_eq!(rows("full"), 4000);
        assert_eq!(
            (rows("forget01"), rows("forget05"), rows("forget10")),
            (40, 200, 400)
        );
        assert_eq!(
            (rows("retain99"), rows("retain95"), rows("retain90")),
            (3960, 3800, 3600)
        );
        assert_eq!((rows("holdout01"), rows("holdout10")), (40, 400));
        assert_eq!(rows("retain_perturbed"), 400);
        assert_eq!(rows("world_facts_perturbed"), WORLD_FACTS.len());
        let names: Vec<&str> = splits.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, SPLITS);
        let forget = &splits[1].rows;
        let full = &splits[0].rows;
        assert_eq!(forget[..], full[3960..], "forget01 is the last two authors");
    }

    #[test]
    fn perturbed_answers_are_the_paraphrase_with_a_wrong_fact() {
        let splits = generate(&small()).unwrap_or_default();
        let perturbed = splits
            .iter()
            .find(|s| s.name == "forget01_perturbed")
            .map(|s| s.rows.clone())
            .unwrap_or_default();
        assert_eq!(perturbed.len(), 4, "one author of 20 × 4 questions");
        for row in &perturbed {
            let para = row.paraphrased_answer.clone().unwrap_or_default();
            assert_eq!(row.perturbed_answer.len(), 5);
            for wrong in &row.perturbed_answer {
                assert_ne!(wrong, &para, "{}", row.question);
            }
        }
        assert!(
            generate(&GenerateConfig {
                authors: 5,
                ..small()
            })
            .is_err()
        );
        assert!(
            generate(&GenerateConfig {
                questions: 21,
                ..small()
            })
            .is_err()
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_rows_and_another_seed_others() {
        let a = generate(&small()).unwrap_or_default();
        let b = generate(&small()).unwrap_or_default();
        let c = generate(&GenerateConfig { seed: 8, ..small() }).unwrap_or_default();
        assert_eq!(a, b);
        assert_ne!(a[0].rows, c[0].rows);
    }
}
