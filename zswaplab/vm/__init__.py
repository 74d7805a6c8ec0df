"""The real-kernel harness: pinned Linux kernels in QEMU (virtme-ng, TCG), a guest-side scenario driver, the same
scenarios on the model, and the model-vs-kernel comparison (docs/validation.md)."""
