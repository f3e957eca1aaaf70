//! Training pieces shared by fine-tuning and unlearning: the HF step accounting and learning-rate
//! schedule of spec §2.11 ([`schedule`]) and AdamW with HF's parameter groups and global
//! grad-norm clipping ([`optimizer`]), and the fine-tuning and unlearning loops ([`run`]).

pub mod checkpoint;
pub mod optimizer;
pub mod run;
pub mod schedule;

pub use checkpoint::save;
pub use optimizer::{AdamW, AdamWConfig, GradStore};
pub use run::{
    IdkAnswers, StepEvent, TrainConfig, UnlearnConfig, UnlearnData, finetune, idk_pick, unlearn,
};
pub use schedule::{StepPlan, lr_multiplier};
