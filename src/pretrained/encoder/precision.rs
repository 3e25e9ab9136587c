//! The arithmetic of an encoder's matrix products: float32, or bfloat16 where the CPU has
//! instructions for it.
//!
//! On such a CPU (AVX512-BF16 / AMX) libtorch's bfloat16 products are several times faster
//! than float32 ones, the encoder's forward pass about twice as fast; everything else
//! (embeddings, layer norms, attention, the states handed to the model) stays float32.
//! Measured with the conll04 preset trained on float32 features: identical entities and
//! relations on all of CoNLL04 dev (docs/BENCHMARKS.md).

use serde::{Deserialize, Serialize};
use tch::Device;

use super::super::PretrainedError;

/// The environment variable that overrides the automatic choice.
pub const VARIABLE: &str = "RELARC_ENCODER_PRECISION";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// float32 for `auto` (a model with no training precision recorded yet). `bf16` is mixed
    /// precision there: products in bfloat16, weights, gradients and optimizer state in
    /// float32.
    pub fn for_fine_tuning(device: Device) -> Result<Precision, PretrainedError> {
        Precision::for_tuned_model(device, None)
    }

    /// What a fine-tuned model's encoder multiplies in when it predicts or trains on: what
    /// `RELARC_ENCODER_PRECISION` names, and for `auto` the precision the model was trained
    /// in where `device` has instructions for it (so that the saved model gives what its
    /// training report says), float32 otherwise.
    pub fn for_tuned_model(
        device: Device,
        trained_in: Option<Precision>,
    ) -> Result<Precision, PretrainedError> {
        let value = std::env::var(VARIABLE).unwrap_or_default();
        Precision::for_tuned_model_with(&value, device, trained_in, cpu_has_bf16())
    }

    /// `for_tuned_model` for a setting's value on a CPU with or without bfloat16 instructions.
    pub fn for_tuned_model_with(
        value: &str,
        device: Device,
        trained_in: Option<Precision>,
        cpu_bf16: bool,
    ) -> Result<Precision, PretrainedError> {
        match value.trim() {
            "" | "auto" => Ok(match trained_in {
                Some(Precision::BFloat16) if device == Device::Cpu && cpu_bf16 => Precision::BFloat16,
                _ => Precision::Float32,
            }),
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

#[cfg(test)]
mod tests {
    use super::Precision::{BFloat16, Float32};
    use super::*;

    /// A model trained with bfloat16 products predicts with them by default where the CPU
    /// has the instructions (so it scores what its report says), in float32 elsewhere;
    /// the setting, when given, wins.
    #[test]
    fn a_tuned_model_predicts_in_its_training_precision_unless_told() {
        let pick = |value, device, trained, bf16| {
            Precision::for_tuned_model_with(value, device, trained, bf16).unwrap()
        };
        assert_eq!(pick("", Device::Cpu, Some(BFloat16), true), BFloat16);
        assert_eq!(pick("auto", Device::Cpu, Some(BFloat16), false), Float32);
        assert_eq!(pick("auto", Device::Cuda(0), Some(BFloat16), true), Float32);
        assert_eq!(pick("", Device::Cpu, Some(Float32), true), Float32);
        assert_eq!(
            pick("", Device::Cpu, None, true),
            Float32,
            "saved before it was recorded"
        );
        assert_eq!(pick("f32", Device::Cpu, Some(BFloat16), true), Float32);
        assert_eq!(pick("bf16", Device::Cpu, Some(Float32), false), BFloat16);
        assert!(Precision::for_tuned_model_with("half", Device::Cpu, None, true).is_err());
        let json = serde_json::to_string(&BFloat16).unwrap();
        assert_eq!(json, "\"bfloat16\"");
        assert_eq!(serde_json::from_str::<Precision>(&json).unwrap(), BFloat16);
    }
}
