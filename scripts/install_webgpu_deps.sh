#!/usr/bin/env bash
# Installs what da3's WebGPU runtime needs on a machine without a GPU:
# Mesa's software Vulkan driver (lavapipe) and the Vulkan loader, which
# Deno's navigator.gpu picks up (adapter "llvmpipe (LLVM …)"). Idempotent:
# installs only what is missing; never fails a non-Debian or non-root host,
# it prints what to do instead. Also librsvg2-bin (rsvg-convert), with which
# tests/plan_picture_test.ts renders the plan pictures to PNG. Optional:
# python3-numpy and OpenBLAS, used by bench/kernels.ts for its OpenBLAS
# comparison (pass --bench).
set -euo pipefail

packages=(mesa-vulkan-drivers libvulkan1 librsvg2-bin)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-numpy libopenblas0-pthread)
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_webgpu_deps: not a Debian/Ubuntu system; install Mesa's Vulkan driver (lavapipe)" \
    "and the Vulkan loader with your package manager, or use da3's CPU runtime." >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_webgpu_deps: already installed: ${packages[*]}"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install_webgpu_deps: missing ${missing[*]}; run as root:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  echo "or use da3's CPU runtime." >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y --no-install-recommends "${missing[@]}"
echo "install_webgpu_deps: installed ${missing[*]} (set XDG_RUNTIME_DIR, e.g. to /tmp, to silence a warning)"
