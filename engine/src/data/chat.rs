//! Prompt templates exactly as ../shared/spec/UNLEARNING_SPEC.md §6 fixes them (OU
//! `configs/model/*.yaml` and `src/data/utils.py:preprocess_chat_instance`).
//!
//! Two paths, as in OU:
//! - string path ([`PromptTemplate::QuestionAnswer`], [`PromptTemplate::Llama2Chat`]): the prompt
//!   and `prompt + answer` are tokenised separately *with* the tokenizer's special tokens and
//!   truncated to `max_length`;
//! - chat path (the rest): the template text carries its own special tokens, is tokenised without
//!   adding any, and is not truncated.
//!
//! Either way EOS is appended when the last id is not EOS, and the labels are `-100` over the prompt
//! and the ids over the answer (end token included). The split is by the prompt's own token count,
//! never by an offset into one tokenisation (spec §6.4).

use crate::EngineError;
use crate::llama::Family;
use crate::tokenizer::Tokenizer;

/// Label of a position that carries no loss.
pub const IGNORE_INDEX: i64 = -100;

/// OU's default system prompt for the chat templates that take one.
pub const DEFAULT_SYSTEM: &str = "You are a helpful assistant.";
/// The date OU pins in the Llama 3 system header (`date_string`).
pub const LLAMA3_DATE: &str = "10 Apr 2025";
/// SmolLM2's built-in system prompt (its chat template adds it when none is given).
pub const SMOLLM2_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// How a question (and answer) become text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptTemplate {
    /// Base models (Llama-2-7b-hf, phi-1.5): `"Question: " + q + "\nAnswer: "`.
    QuestionAnswer,
    /// Llama-2-7b-chat (TOFU default): `"[INST] " + q + " [/INST]"`, empty assistant start.
    Llama2Chat,
    /// Llama 3.x Instruct: system header with the cutting-knowledge and date lines.
    Llama3 {
        /// System prompt.
        system: String,
        /// `Today Date:` line.
        date: String,
    },
    /// Qwen3 with thinking off (an empty think block opens the answer).
    Qwen3 {
        /// System prompt, if any.
        system: Option<String>,
    },
    /// Mistral-7B-Instruct-v0.3: `<s>[INST] q[/INST] a</s>`, no system prompt.
    MistralV3,
    /// ChatML as SmolLM2 ships it.
    ChatMl {
        /// System prompt.
        system: String,
    },
}

/// One tokenised example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Prompt + answer (+ EOS) ids: the training / probability input.
    pub input_ids: Vec<u32>,
    /// `-100` on the prompt, the id elsewhere.
    pub labels: Vec<i64>,
    /// Ids of the prompt alone: the generation input.
    pub prompt_ids: Vec<u32>,
}

impl Encoded {
    /// Positions that carry loss (labels other than `-100`, the first position excluded since
    /// nothing predicts it).
    pub fn target_count(&self) -> usize {
        self.labels
            .iter()
            .skip(1)
            .filter(|label| **label != IGNORE_INDEX)
            .count()
    }
}

impl PromptTemplate {
    /// The chat template of a model family, if this tokenizer has the tokens it needs. `None`
    /// means the model has no chat format Lethe knows (use [`Self::QuestionAnswer`]).
    pub fn chat_for(family: Family, tokenizer: &Tokenizer) -> Option<Self> {
        let has = |token: &str| tokenizer.token_id(token).is_some();
        match family {
            Family::Qwen3 => Some(Self::Qwen3 {
                system: Some(DEFAULT_SYSTEM.into()),
            }),
            Family::Mistral => has("[INST]").then_some(Self::MistralV3),
            Family::Llama if has("<|eot_id|>") => Some(Self::Llama3 {
                system: DEFAULT_SYSTEM.into(),
                date: LLAMA3_DATE.into(),
            }),
            Family::Llama if has("<|im_start|>") => Some(Self::ChatMl {
                system: SMOLLM2_SYSTEM.into(),
            }),
            Family::Llama => tokenizer
                .chat_template
                .as_deref()
                .is_some_and(|template| template.contains("[INST]"))
                .then_some(Self::Llama2Chat),
        }
    }

    /// A short name for logs and `lethe model inspect`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::QuestionAnswer => "question-answer",
            Self::Llama2Chat => "llama2-chat",
            Self::Llama3 { .. } => "llama3",
            Self::Qwen3 { .. } => "qwen3-no-think",
            Self::MistralV3 => "mistral-v3",
            Self::ChatMl { .. } => "chatml",
        }
    }

    /// Whether this is OU's chat-template path (template text carries the special tokens).
    pub fn is_chat(&self) -> bool {
        !matches!(self, Self::QuestionAnswer | Self::Llama2Chat)
    }

    /// The text up to where the answer starts (a generation prompt).
    pub fn prompt(&self, question: &str) -> String {
        match self {
            Self::QuestionAnswer => format!("Question: {question}\nAnswer: "),
            Self::Llama2Chat => format!("[INST] {question} [/INST]"),
            Self::Llama3 { system, date } => format!(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n\
                 Cutting Knowledge Date: December 2023\nToday Date: {date}\n\n{system}<|eot_id|>\
                 <|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>\
                 <|start_header_id|>assistant<|end_header_id|>\n\n",
                question.trim()
            ),
            Self::Qwen3 { system } => {
                let system = system
                    .as_ref()
                    .map(|system| format!("<|im_start|>system\n{system}<|im_end|>\n"))
                    .unwrap_or_default();
                format!(
                    "{system}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
                )
            }
            Self::MistralV3 => format!("<s>[INST] {question}[/INST]"),
            Self::ChatMl { system } => format!(
                "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
            ),
        }
    }

    /// The whole exchange: prompt, answer and the template's end-of-turn text.
    pub fn full(&self, question: &str, answer: &str) -> String {
        let prompt = self.prompt(question);
        match self {
            Self::QuestionAnswer | Self::Llama2Chat => format!("{prompt}{answer}"),
            Self::Llama3 { .. } => format!("{prompt}{}<|eot_id|>", answer.trim()),
            Self::Qwen3 { .. } => {
                format!("{prompt}{}<|im_end|>\n", answer.trim_start_matches('\n'))
            }
            Self::MistralV3 => format!("{prompt} {}</s>", answer.trim()),
            Self::ChatMl { .. } => format!("{prompt}{answer}<|im_end|>\n"),
        }
    }

    /// Tokenises one question/answer pair (spec §6.1). `max_length` truncates the string path only.
    pub fn encode(
        &self,
        tokenizer: &Tokenizer,
        question: &str,
        answer: &str,
        max_length: usize,
    ) -> Result<Encoded, EngineError> {
        let chat = self.is_chat();
        let tokenize = |text: &str| -> Result<Vec<u32>, EngineError> {
            let mut ids = tokenizer.encode(text, !chat)?;
            if !chat {
                ids.truncate(max_length);
            }
            Ok(ids)
        };
        let prompt_ids = tokenize(&self.prompt(question))?;
        let mut input_ids = tokenize(&self.full(question, answer))?;
        if let Some(eos) = tokenizer.eos_id
            && input_ids.last() != Some(&eos)
        {
            input_ids.push(eos);
        }
        let split = prompt_ids.len().min(input_ids.len());
        let labels = std::iter::repeat_n(IGNORE_INDEX, split)
            .chain(input_ids[split..].iter().map(|id| i64::from(*id)))
            .collect();
        Ok(Encoded {
            input_ids,
            labels,
            prompt_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_the_spec_text() {
        let llama3 = PromptTemplate::Llama3 {
            system: DEFAULT_SYSTEM.into(),
            date: LLAMA3_DATE.into(),
        };
        assert_eq!(
            llama3.full(" Who? ", "Her. "),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 10 Apr 2025\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHer.<|eot_id|>"
        );
        assert_eq!(
            PromptTemplate::Llama2Chat.full("Who?", "Her."),
            "[INST] Who? [/INST]Her."
        );
        assert_eq!(
            PromptTemplate::Qwen3 {
                system: Some(DEFAULT_SYSTEM.into())
            }
            .full("Who?", "Her."),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWho?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHer.<|im_end|>\n"
        );
        assert_eq!(
            PromptTemplate::MistralV3.full("Who?", "Her."),
            "<s>[INST] Who?[/INST] Her.</s>"
        );
        assert_eq!(
            PromptTemplate::QuestionAnswer.prompt("Who?"),
            "Question: Who?\nAnswer: "
        );
        for template in [
            llama3,
            PromptTemplate::MistralV3,
            PromptTemplate::QuestionAnswer,
        ] {
            assert!(template.full("q", "a").starts_with(&template.prompt("q")));
        }
    }
}
