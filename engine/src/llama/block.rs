//! One pre-norm decoder layer (`LlamaDecoderLayer`):
//! `x + attn(norm(x))`, then `x + mlp(norm(x))`.

use burn::module::Module;
use burn::tensor::Tensor;

use super::attention::Attention;
use super::kv_cache::LayerCache;
use super::mlp::Mlp;
use super::norm::RmsNorm;
use super::packing::Packing;
use super::rope::RopeTables;

/// Attention and MLP with their norms, named like the HF keys.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Self-attention.
    pub self_attn: Attention,
    /// SwiGLU MLP.
    pub mlp: Mlp,
    /// Norm before attention.
    pub input_layernorm: RmsNorm,
    /// Norm before the MLP.
    pub post_attention_layernorm: RmsNorm,
}

impl DecoderLayer {
    /// The device this layer's weights live on.
    pub fn device(&self) -> burn::tensor::Device {
        self.input_layernorm.weight.val().device()
    }

    /// `[batch, seq, hidden] -> [batch, seq, hidden]`, or with `packing` the real tokens
    /// `[1, tokens, hidden]` in and out.
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeTables,
        mask: &Tensor<4>,
        cache: Option<&mut LayerCache>,
        packing: Option<&Packing>,
    ) -> Tensor<3> {
        // The fresh output on the left: burn adds into a buffer it holds alone, in place.
        let h = self.self_attn.forward(
            self.input_layernorm.forward(x.clone()),
            rope,
            mask,
            cache,
            packing,
        ) + x;
        self.mlp
            .forward(self.post_attention_layernorm.forward(h.clone()))
            + h
    }
}
