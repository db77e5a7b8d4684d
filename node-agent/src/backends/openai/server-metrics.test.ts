import { describe, expect, it } from 'vitest';
import { readServerLoad } from './server-metrics.js';

describe('readServerLoad', () => {
  it.each([
    {
      server: 'vLLM 0.11, two data-parallel engines (running and waiting summed, KV usage averaged)',
      text: [
        '# HELP vllm:num_requests_running Number of requests in model execution batches.',
        '# TYPE vllm:num_requests_running gauge',
        'vllm:num_requests_running{engine="0",model_name="m"} 3.0',
        'vllm:num_requests_running{engine="1",model_name="m"} 2.0',
        'vllm:num_requests_waiting{engine="0",model_name="m"} 1.0',
        'vllm:num_requests_waiting{engine="1",model_name="m"} 0.0',
        'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.5',
        'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.25',
      ],
      load: { running: 5, waiting: 1, kvCacheUsage: 0.375 },
    },
    {
      server: 'vLLM before 0.9.2 (gpu_cache_usage_perc)',
      text: ['vllm:num_requests_running{model_name="m"} 1.0', 'vllm:gpu_cache_usage_perc{model_name="m"} 0.8'],
      load: { running: 1, waiting: undefined, kvCacheUsage: 0.8 },
    },
    {
      server: 'SGLang',
      text: [
        'sglang:num_running_reqs{model_name="m"} 4.0',
        'sglang:num_queue_reqs{model_name="m"} 6.0',
        'sglang:token_usage{model_name="m"} 0.1',
      ],
      load: { running: 4, waiting: 6, kvCacheUsage: 0.1 },
    },
    {
      server: 'TGI',
      text: ['tgi_batch_current_size 7', 'tgi_queue_size 2'],
      load: { running: 7, waiting: 2, kvCacheUsage: undefined },
    },
    {
      server: 'a server exporting none of them',
      text: ['process_cpu_seconds_total 12.5'],
      load: { running: undefined, waiting: undefined, kvCacheUsage: undefined },
    },
  ])('reads $server', ({ text, load }) => {
    expect(readServerLoad(text.join('\n') + '\n')).toEqual(load);
  });

  it('skips timestamps, braces inside quoted labels, NaN and unreadable lines', () => {
    const text = [
      'vllm:num_requests_running{model_name="odd}name",engine="0"} 2.0 1700000000000',
      'vllm:num_requests_running{engine="1"} NaN',
      'vllm:num_requests_waiting{broken 3',
      'vllm:num_requests_waiting 4',
      'vllm:kv_cache_usage_perc 1.5',
    ].join('\r\n');
    expect(readServerLoad(text)).toEqual({ running: 2, waiting: 4, kvCacheUsage: 1 });
  });
});
