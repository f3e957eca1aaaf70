//! Turning question/answer text into model inputs: prompt templates per model family, the
//! two-tokenisation prompt/answer split and answer-only labels (spec §6).

pub mod chat;
pub mod generate;
pub mod tofu;

pub use chat::{Encoded, IGNORE_INDEX, PromptTemplate};
