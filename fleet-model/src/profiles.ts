/**
 * Accelerator profiles: published inference figures per reference node, with the source of each
 * figure and every assumption beside it. Sources are the rows of shared/ACCELERATORS.md (vendor docs
 * and MLPerf logs) and the public figures of shared/ECOSYSTEM.md; "derived" marks arithmetic on
 * those, "assumed" marks our own estimate.
 *
 * Conventions shared by every profile:
 * - Throughput is per reference node. A node runs a size class as data-parallel replicas (e.g. eight
 *   one-GPU replicas of an 8B model on p5.48xlarge), so a published per-replica figure is multiplied
 *   by the replicas that fit in the node, and the latency model treats the node as one server.
 * - `prefillTokensPerSecond` is the node's aggregate prefill rate. The engine prefills through one
 *   serial lane per node, which matches the node's prefill capacity; a lone short request's TTFT
 *   is optimistic by up to the replica count on data-parallel classes.
 * - `decodeTokensPerSecondBatch1` is one sequence's speed (1000 / ITL), a per-replica property.
 * - `maxAggregateDecodeTokensPerSecond` is the published high-load output rate (1000 in / 1000 out
 *   where available; that rate already includes interleaved prefill, so it errs low).
 * - Figures keep the precision of their measurement (FP8 on H100/H200, FP16 on A100, int8 weights
 *   for 8B and BF16 for 70B/405B on Neuron); HBM accounting uses the catalogue's weight bytes.
 * - Where only one class was measured on a profile, another class is derived from it by the H100's
 *   ratio between those classes (the best-measured profile), unless stated otherwise.
 * - `modelLoadBytesPerSecond` is assumed: 2.5 GB/s from the NVIDIA nodes' local NVMe, 2 GB/s on
 *   Neuron nodes (weights plus compiled artefacts), 1.5 GB/s on g6 (fewer, smaller NVMe drives).
 */
import type { AcceleratorProfile } from './types.js';

const GB = 1e9;
const GIB = 2 ** 30;

// H100 per-GPU prefill of Llama 3.3 70B (FP8, TP2): 5,000 prompt tokens in 407 ms over 2 GPUs
// (TensorRT-LLM perf-overview / NIM docs). Several derivations below start from it.
const H100_70B_PREFILL_PER_GPU = 5000 / 0.407 / 2; // ≈ 6,143 tok/s
// Assumed: an 8B model's smaller matrices reach half the FLOP utilisation of 70B, so per-GPU 8B
// prefill = 70B rate × (70 / 8) parameters × 0.5. That gives ≈ 27k tok/s, i.e. the NIM docs' ≈ 10 ms
// TTFT at concurrency 1 for a ≈ 270-token prompt.
const SMALL_PREFILL_FROM_70B = (70 / 8) * 0.5;
// Measured fraction of the memory-bandwidth bound reached at batch 1 on H100 (derived):
// 8B FP8 (8 GB) / 3.35 TB/s = 2.39 ms bound vs 4.6 ms ITL → 0.52;
// 70B FP8 TP2 (35 GB per GPU) / 3.35 TB/s = 10.4 ms bound vs 18.6 ms ITL → 0.56.
const H100_BATCH1_BW_FRACTION_8B = 8 / 3350 / 0.0046;
const H100_BATCH1_BW_FRACTION_70B = 35 / 3350 / 0.0186;
// H100 (p5) node figures reused for ratios (see the h100 profile).
const H100_SMALL = {
  prefill: H100_70B_PREFILL_PER_GPU * SMALL_PREFILL_FROM_70B * 8,
  batch1: 1000 / 4.6,
  agg: 15220 * 8,
};
const H100_MEDIUM = { prefill: H100_70B_PREFILL_PER_GPU * 8, batch1: 1000 / 18.6, agg: 4205 * 4 };
// H200 vs H100 on the same GH100 compute: HBM bandwidth 4.8 vs 3.35 TB/s (vendor spec) for batch-1
// decode, and MLPerf v4.1 8-GPU Llama 2 70B offline 31,303 vs 24,525 tok/s for high-load decode.
const H200_BW_RATIO = 4.8 / 3.35;
const H200_MLPERF_RATIO = 31303 / 24525; // ≈ 1.276
/**
 * Fit t(B) = t1 × (1 + (B − 1) / Bsat) through batch 1 (ITL) and one measured batch (aggregate tok/s
 * at batch B), returning the ceiling Bsat / t1 in tok/s. Used where Neuron benchmarks publish only
 * small batches, which sit far below saturation.
 */
function fittedCeiling(itlMs: number, batch: number, aggregateAtBatch: number): number {
  const stepMs = (batch / aggregateAtBatch) * 1000;
  const bsat = (batch - 1) / (stepMs / itlMs - 1);
  return (bsat / itlMs) * 1000;
}
// Assumed decode MFU for BF16 on Trainium2 at high load: 20 %. The H100's 70B figure implies ≈ 30 %
// (16,820 tok/s × 140 GFLOP/token ÷ 8 × 989 TFLOPS FP8 dense); we take less for a younger stack.
const TRN2_NODE_BF16_FLOPS = 16 * 667e12;
const TRN2_DECODE_MFU = 0.2;

/** Every accelerator type the fleet model knows, keyed by profile name. */
export const ACCELERATOR_PROFILES: Readonly<Record<string, AcceleratorProfile>> = deepFreeze({
  h100: {
    name: 'h100',
    vendor: 'nvidia',
    description: 'NVIDIA H100 SXM 80GB (reference node p5.48xlarge, 8 GPUs)',
    hbmBytesPerChip: 80 * GB, // 80 GB HBM3 (ECOSYSTEM.md public figures)
    referenceChipsPerNode: 8,
    idleWattsPerChip: 67, // DCGM scrape of an idle EKS H100 (ACCELERATORS.md, Power)
    peakWattsPerChip: 700, // TDP (ACCELERATORS.md, Power)
    minPowerLimitWattsPerChip: 200, // assumed: the lower bound nvidia-smi -q reports for H100 SXM boards
    maxBatchSize: 2048, // assumed: 8 replicas × vLLM's long-standing max_num_seqs default of 256
    modelLoadBytesPerSecond: 2.5 * GB, // assumed (see header)
    throughput: {
      // Llama 3.1 8B, FP8, 1 GPU per replica × 8.
      small: {
        prefillTokensPerSecond: H100_SMALL.prefill, // derived ≈ 215k: 70B rate × 8.75 × 0.5 × 8 GPUs
        decodeTokensPerSecondBatch1: H100_SMALL.batch1, // ITL ≈ 4.6 ms (TRT-LLM perf-overview)
        maxAggregateDecodeTokensPerSecond: H100_SMALL.agg, // 15,220 tok/s/GPU at 1000/1000 (perf-overview) × 8
      },
      // Llama 3.3 70B, FP8, TP2 × 4 replicas.
      medium: {
        prefillTokensPerSecond: H100_MEDIUM.prefill, // 407 ms TTFT at 5,000 in per TP2 (NIM docs) × 4
        decodeTokensPerSecondBatch1: H100_MEDIUM.batch1, // ITL 18.6 ms (NIM docs)
        maxAggregateDecodeTokensPerSecond: H100_MEDIUM.agg, // 4,205 tok/s per TP2 at 1000/1000 × 4
      },
      // Llama 3.1 405B, FP8, TP8 (one replica).
      large: {
        // derived: per-GPU 70B prefill scaled by parameters (70 / 405), × 8 GPUs ≈ 8.5k.
        prefillTokensPerSecond: H100_70B_PREFILL_PER_GPU * (70 / 405) * 8,
        // derived: no published ITL; 70B TP2's 18.6 ms scaled by weight bytes per GPU
        // (405 / 8 = 50.6 GB vs 35 GB) → 26.9 ms.
        decodeTokensPerSecondBatch1: 1000 / (18.6 * (405 / 8 / 35)),
        maxAggregateDecodeTokensPerSecond: 2919, // TRT-LLM perf-overview, 1000/1000, TP8
      },
    },
  },
  h200: {
    name: 'h200',
    vendor: 'nvidia',
    description: 'NVIDIA H200 SXM 141GB (reference node p5e.48xlarge, 8 GPUs)',
    hbmBytesPerChip: 141 * GB, // 141 GB HBM3e (vendor spec)
    referenceChipsPerNode: 8,
    idleWattsPerChip: 67, // assumed equal to H100 (same GH100 die)
    peakWattsPerChip: 700, // TDP (ACCELERATORS.md, Power)
    minPowerLimitWattsPerChip: 200, // assumed equal to H100
    maxBatchSize: 2048, // assumed, as H100
    modelLoadBytesPerSecond: 2.5 * GB, // assumed (see header)
    throughput: {
      small: {
        prefillTokensPerSecond: H100_SMALL.prefill, // assumed equal to H100: same compute
        decodeTokensPerSecondBatch1: H100_SMALL.batch1 * H200_BW_RATIO, // derived: H100 ITL × 3.35/4.8 ≈ 3.2 ms
        maxAggregateDecodeTokensPerSecond: 17744 * 8, // 17,744 tok/s/GPU at 1000/1000 (perf-overview) × 8
      },
      medium: {
        prefillTokensPerSecond: H100_MEDIUM.prefill, // assumed equal to H100: same compute
        decodeTokensPerSecondBatch1: H100_MEDIUM.batch1 * H200_BW_RATIO, // derived ≈ 13 ms ITL
        maxAggregateDecodeTokensPerSecond: H100_MEDIUM.agg * H200_MLPERF_RATIO, // derived ≈ 21.5k
      },
      large: {
        prefillTokensPerSecond: H100_70B_PREFILL_PER_GPU * (70 / 405) * 8, // assumed equal to H100
        decodeTokensPerSecondBatch1: (1000 / (18.6 * (405 / 8 / 35))) * H200_BW_RATIO, // derived ≈ 18.8 ms ITL
        maxAggregateDecodeTokensPerSecond: 2919 * H200_MLPERF_RATIO, // derived ≈ 3.7k
      },
    },
  },
  a100: {
    name: 'a100',
    vendor: 'nvidia',
    description: 'NVIDIA A100 SXM 80GB (reference node p4de.24xlarge, 8 GPUs)',
    hbmBytesPerChip: 80 * GB, // 80 GB (ECOSYSTEM.md public figures)
    referenceChipsPerNode: 8,
    idleWattsPerChip: 50, // assumed: no published idle figure in our sources
    peakWattsPerChip: 400, // TDP (ACCELERATORS.md, Power)
    minPowerLimitWattsPerChip: 100, // assumed: the lower bound nvidia-smi -q reports for A100 SXM boards
    maxBatchSize: 2048, // assumed: 8 replicas × 256
    modelLoadBytesPerSecond: 2.5 * GB, // assumed (see header)
    throughput: {
      // Llama 3 8B, FP16, 1 GPU per replica × 8.
      small: {
        // derived: A100 70B prefill per GPU (2,048 in / 377 ms / 4 GPUs) × 8.75 × 0.5 × 8 GPUs ≈ 47.5k.
        prefillTokensPerSecond: (2048 / 0.377 / 4) * SMALL_PREFILL_FROM_70B * 8,
        // derived: 16 GB FP16 / 2.039 TB/s = 7.85 ms bound ÷ 0.52 (H100's measured fraction) ≈ 15 ms ITL.
        decodeTokensPerSecondBatch1: 1000 / (((16 / 2039) * 1000) / H100_BATCH1_BW_FRACTION_8B),
        maxAggregateDecodeTokensPerSecond: 3634 * 8, // 3,634 tok/s/GPU at 1000/1000 (perf-overview @v0.14) × 8
      },
      // Llama 70B, FP16, TP4 × 2 replicas.
      medium: {
        prefillTokensPerSecond: (2048 / 0.377) * 2, // 377 ms TTFT at 2,048 in per TP4 (performance.md @v0.5) × 2
        // derived: 35 GB per GPU / 2.039 TB/s = 17.2 ms bound ÷ 0.56 (H100's 70B fraction) ≈ 30.6 ms ITL.
        decodeTokensPerSecondBatch1: 1000 / (((35 / 2039) * 1000) / H100_BATCH1_BW_FRACTION_70B),
        maxAggregateDecodeTokensPerSecond: 1763 * 2, // 1,763 tok/s per TP4 at 1000/1000 (perf-overview @v0.14) × 2
      },
      // large absent: no FP8 on A100, and 405B in BF16 (810 GB) exceeds the node's 640 GB.
    },
  },
  cpu: {
    name: 'cpu',
    vendor: 'cpu',
    description: 'A CPU edge node running the llama.cpp executor (one "chip" = the machine; tiny models only)',
    hbmBytesPerChip: 16 * GB, // assumed: RAM set aside for models and KV cache
    referenceChipsPerNode: 1,
    idleWattsPerChip: 15, // assumed: a small server's package idle; CPUs expose no portable power reading
    peakWattsPerChip: 65, // assumed: a 65 W desktop/edge CPU TDP class
    minPowerLimitWattsPerChip: 20, // assumed: the executor sheds concurrency, there is no CPU power knob
    maxBatchSize: 4, // llama.cpp context sequences of the executor's default
    modelLoadBytesPerSecond: 1 * GB, // assumed: page cache / local disk
    throughput: {
      // Measured: node-agent/dist/backends/llama-cpp/cpu-bench.js on the 2-vCPU AMD EPYC CI VM, 1 thread,
      // the generated tiny-llama, 128 prompt / 64 output tokens: about 3.5k prompt tok/s, 319–345 output
      // tok/s alone, 405–423 tok/s at 4 sequences.
      tiny: {
        prefillTokensPerSecond: 3500,
        decodeTokensPerSecondBatch1: 330,
        maxAggregateDecodeTokensPerSecond: 415,
      },
    },
  },
  l4: {
    name: 'l4',
    vendor: 'nvidia',
    description: 'NVIDIA L4 24GB (reference node g6.12xlarge, 4 GPUs)',
    hbmBytesPerChip: 24 * GB, // 24 GB (ECOSYSTEM.md public figures)
    referenceChipsPerNode: 4,
    idleWattsPerChip: 16, // assumed: no published idle figure in our sources
    peakWattsPerChip: 72, // TDP (ACCELERATORS.md, Power)
    minPowerLimitWattsPerChip: 40, // assumed
    maxBatchSize: 256, // assumed: 4 replicas × 64; 8 GB of KV room per GPU after BF16 8B weights
    modelLoadBytesPerSecond: 1.5 * GB, // assumed (see header)
    throughput: {
      // Llama 3.1 8B, BF16, 1 GPU per replica × 4. No published measurement: all derived.
      small: {
        // derived: A100 8B per-GPU prefill × 121/312 (dense BF16 TFLOPS) × 4 GPUs ≈ 9.2k.
        prefillTokensPerSecond: (2048 / 0.377 / 4) * SMALL_PREFILL_FROM_70B * (121 / 312) * 4,
        // derived: 300 GB/s / 16 GB = 18.75 tok/s bandwidth ceiling (ACCELERATORS.md) × 0.52 (H100's fraction).
        decodeTokensPerSecondBatch1: (300 / 16) * H100_BATCH1_BW_FRACTION_8B,
        // derived: A100's 3,634 tok/s/GPU scaled by bandwidth (300 / 2,039 GB/s) × 4 GPUs ≈ 2.1k.
        maxAggregateDecodeTokensPerSecond: 3634 * (300 / 2039) * 4,
      },
      // medium and large absent: 70B BF16 (140 GB) exceeds the node's 96 GB.
    },
  },
  trn1: {
    name: 'trn1',
    vendor: 'aws',
    description: 'AWS Trainium1 32GiB (reference node trn1.32xlarge, 16 chips)',
    hbmBytesPerChip: 32 * GIB, // 32 GiB (ECOSYSTEM.md public figures)
    referenceChipsPerNode: 16,
    // AWS publishes no Trainium power. Assumed 250 W per chip: between the ≈ 140 W that the trn2
    // analyst estimate gives at trn2's FLOPS per watt and the A100's 400 W on a similar process.
    idleWattsPerChip: 25, // assumed: 10 % of peak, the H100's idle/TDP ratio (67 / 700)
    peakWattsPerChip: 250,
    minPowerLimitWattsPerChip: 125, // assumed: Neuron exposes no cap; modelled down to 50 % of peak
    maxBatchSize: 64, // assumed: Neuron compiles static batch sizes; 64 is a common largest bucket
    modelLoadBytesPerSecond: 2 * GB, // assumed (see header)
    throughput: {
      // Llama 3 8B, int8 weights, TP32 (one replica), Transformers NeuronX 2.18 (about-neuron/benchmarks/trn1).
      small: {
        prefillTokensPerSecond: 4096 / 0.153, // 153 ms TTFT at 4,096 in
        decodeTokensPerSecondBatch1: 1000 / 5.9, // TPOT 5.9 ms
        maxAggregateDecodeTokensPerSecond: fittedCeiling(5.9, 8, 1143), // derived ≈ 6.4k from 1,143 tok/s at batch 8
      },
      // Llama 3 70B, BF16, TP32.
      medium: {
        prefillTokensPerSecond: 2048 / 0.547, // 547 ms TTFT at 2,048 in
        decodeTokensPerSecondBatch1: 1000 / 24.5, // TPOT 24.5 ms
        maxAggregateDecodeTokensPerSecond: fittedCeiling(24.5, 4, 140), // derived ≈ 740 from 140 tok/s at batch 4
      },
      // large absent: no published figure, BF16 405B (810 GB) exceeds 512 GiB, FP8 serving undocumented.
    },
  },
  trn2: {
    name: 'trn2',
    vendor: 'aws',
    description: 'AWS Trainium2 96GiB (reference node trn2.48xlarge, 16 chips)',
    hbmBytesPerChip: 96 * GIB, // 96 GiB at 2.9 TB/s (ECOSYSTEM.md public figures)
    referenceChipsPerNode: 16,
    idleWattsPerChip: 50, // assumed: 10 % of peak, as H100
    peakWattsPerChip: 500, // assumed: analyst estimate, unverified (ACCELERATORS.md, Power)
    minPowerLimitWattsPerChip: 250, // assumed: Neuron exposes no cap; modelled down to 50 % of peak
    maxBatchSize: 1024, // assumed: 8B runs as data-parallel replicas, as on H100; 70B/405B saturate well below it
    modelLoadBytesPerSecond: 2 * GB, // assumed (see header)
    throughput: {
      // Llama 3.1 8B: no published trn2 figure; derived from medium by the H100's small/medium ratios.
      small: {
        prefillTokensPerSecond: (10000 / 0.814) * (H100_SMALL.prefill / H100_MEDIUM.prefill), // ≈ 53.7k
        decodeTokensPerSecondBatch1: (1000 / 19.6) * (H100_SMALL.batch1 / H100_MEDIUM.batch1), // ≈ 206
        maxAggregateDecodeTokensPerSecond:
          ((TRN2_DECODE_MFU * TRN2_NODE_BF16_FLOPS) / 140e9) * (H100_SMALL.agg / H100_MEDIUM.agg), // ≈ 110k
      },
      // Llama 3.3 70B, BF16, TP64 (trn2-llama3.3-70b-tutorial.rst, NxD Inference + vLLM).
      medium: {
        prefillTokensPerSecond: 10000 / 0.814, // 814 ms TTFT at 10k in
        decodeTokensPerSecondBatch1: 1000 / 19.6, // TPOT p50 19.6 ms
        // derived: 20 % MFU × 16 × 667 TFLOPS ÷ 140 GFLOP/token ≈ 15.2k.
        maxAggregateDecodeTokensPerSecond: (TRN2_DECODE_MFU * TRN2_NODE_BF16_FLOPS) / 140e9,
      },
      // Llama 3.1 405B, BF16, TP64 (trn2-llama3.1-405b-speculative-tutorial.rst). The catalogue's
      // 405B is FP8; we keep the BF16 (slower) figures, without speculative decoding.
      large: {
        prefillTokensPerSecond: 10000 / 2.44, // 2.44 s TTFT at 10k in
        decodeTokensPerSecondBatch1: 1000 / 37.9, // TPOT p50 37.9 ms
        maxAggregateDecodeTokensPerSecond: (TRN2_DECODE_MFU * TRN2_NODE_BF16_FLOPS) / 810e9, // derived ≈ 2.6k
      },
    },
  },
  inf2: {
    name: 'inf2',
    vendor: 'aws',
    description: 'AWS Inferentia2 32GiB (reference node inf2.48xlarge, 12 chips)',
    hbmBytesPerChip: 32 * GIB, // 32 GiB (ECOSYSTEM.md public figures)
    referenceChipsPerNode: 12,
    // AWS publishes no Inferentia power. Assumed 200 W per chip: the same NeuronCore-v2 as Trainium1
    // (assumed 250 W) with less chip-to-chip interconnect.
    idleWattsPerChip: 20, // assumed: 10 % of peak, as H100
    peakWattsPerChip: 200,
    minPowerLimitWattsPerChip: 100, // assumed: Neuron exposes no cap; modelled down to 50 % of peak
    maxBatchSize: 64, // assumed, as trn1
    modelLoadBytesPerSecond: 2 * GB, // assumed (see header)
    throughput: {
      // Llama 3 8B, int8 weights, TP24 (about-neuron/benchmarks/inf2, Transformers NeuronX 2.18).
      small: {
        prefillTokensPerSecond: 2048 / 0.102, // 102 ms TTFT at 2,048 in
        decodeTokensPerSecondBatch1: 1000 / 6.4, // TPOT 6.4 ms
        maxAggregateDecodeTokensPerSecond: fittedCeiling(6.4, 8, 859), // derived ≈ 2.4k from 859 tok/s at batch 8
      },
      // Llama 3 70B, BF16, TP24.
      medium: {
        prefillTokensPerSecond: 2048 / 0.745, // 745 ms TTFT at 2,048 in
        decodeTokensPerSecondBatch1: 1000 / 33.5, // TPOT 32–35 ms, midpoint
        // derived: no published aggregate; small ceiling ÷ trn1's small/medium ceiling ratio (same
        // NeuronCore-v2 and SDK) ≈ 280.
        maxAggregateDecodeTokensPerSecond:
          fittedCeiling(6.4, 8, 859) / (fittedCeiling(5.9, 8, 1143) / fittedCeiling(24.5, 4, 140)),
      },
      // large absent: 405 GB of FP8 weights leave under 10 % of the node's 412 GB for KV.
    },
  },
});

/** Freezes the table all the way down: it is shared by every package, so a stray write must fail loudly. */
function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) deepFreeze(child);
  return Object.freeze(value);
}

/** The profile with this name, or undefined when the fleet model does not know it. */
export function getProfile(name: string): AcceleratorProfile | undefined {
  return Object.hasOwn(ACCELERATOR_PROFILES, name) ? ACCELERATOR_PROFILES[name] : undefined;
}
