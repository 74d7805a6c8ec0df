"""The real-kernel harness: Linux 6.12 in QEMU (virtme-ng, TCG), a guest-side scenario driver, the same
scenarios on the model, and the model-vs-kernel comparison (docs/validation.md)."""
