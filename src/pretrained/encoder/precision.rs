//! The arithmetic of an encoder's matrix products: float32, or bfloat16 where the CPU has
//! instructions for it.
//!
//! On such a CPU (AVX512-BF16 / AMX) libtorch's bfloat16 products are several times faster
//! than float32 ones, the encoder's forward pass about twice as fast; everything else
//! (embeddings, layer norms, attention, the states handed to the model) stays float32.
//! Measured with the conll04 preset trained on float32 features: identical entities and
//! relations on all of CoNLL04 dev (docs/BENCHMARKS.md).

use tch::Device;

use super::super::PretrainedError;

/// The environment variable that overrides the automatic choice.
pub const VARIABLE: &str = "RELARC_ENCODER_PRECISION";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    Float32,
    BFloat16,
}

impl Precision {
    /// What `RELARC_ENCODER_PRECISION` asks for (`f32`, `bf16` or `auto`, the default):
    /// `auto` is bfloat16 on a CPU with bfloat16 instructions, float32 anywhere else (GPUs
    /// included).
    pub fn for_device(device: Device) -> Result<Precision, PretrainedError> {
        Precision::parse(&std::env::var(VARIABLE).unwrap_or_default(), device)
    }

    /// What a fine-tuned encoder multiplies in: what `RELARC_ENCODER_PRECISION` names, and
    /// float32 for `auto`. `bf16` is mixed precision there: products in bfloat16, weights,
    /// gradients and optimizer state in float32.
    pub fn for_fine_tuning(device: Device) -> Result<Precision, PretrainedError> {
        match std::env::var(VARIABLE).unwrap_or_default().trim() {
            "" | "auto" => Ok(Precision::Float32),
            other => Precision::parse(other, device),
        }
    }

    /// The precision a setting's value asks for on `device` (what `for_device` reads from
    /// the environment).
    pub fn parse(value: &str, device: Device) -> Result<Precision, PretrainedError> {
        match value.trim() {
            "" | "auto" => Ok(if device == Device::Cpu && cpu_has_bf16() {
                Precision::BFloat16
            } else {
                Precision::Float32
            }),
            "f32" | "float32" => Ok(Precision::Float32),
            "bf16" | "bfloat16" => Ok(Precision::BFloat16),
            other => Err(PretrainedError::Setting {
                name: VARIABLE.into(),
                value: other.into(),
                reason: "use f32, bf16 or auto".into(),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::Float32 => "float32",
            Precision::BFloat16 => "bfloat16",
        }
    }
}

/// Whether this CPU multiplies bfloat16 matrices natively.
pub fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
