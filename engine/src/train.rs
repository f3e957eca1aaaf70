//! Training pieces shared by fine-tuning and unlearning: the HF step accounting and learning-rate
//! schedule of spec §2.11 ([`schedule`]) and AdamW with HF's parameter groups and global
//! grad-norm clipping ([`optimizer`]), and the fine-tuning and unlearning loops ([`run`]).

pub mod checkpoint;
pub mod observe;
pub mod optimizer;
pub mod reference_cache;
pub mod run;
pub mod schedule;
pub mod unlearn;

pub use checkpoint::{save, save_state};
pub use observe::{Flow, Observer, OnStep, Progress};
pub use optimizer::{AdamW, AdamWConfig, GradStore};
pub use reference_cache::{Reference, ReferenceCache};
pub use run::{StepEvent, TrainConfig, finetune};
pub use schedule::{StepPlan, lr_multiplier};
pub use unlearn::{IdkAnswers, UnlearnConfig, UnlearnData, idk_pick, unlearn, unlearn_observed};
