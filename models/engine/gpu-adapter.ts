// Which GPU the WebGPU engine would run on. ONNX Runtime's Node binding does not expose its Dawn adapter,
// so this asks the Vulkan loader that Dawn uses on Linux (through koffi, an FFI with prebuilt binaries in
// its npm package) for its physical devices, and ranks them the way Dawn does for a high-performance
// request: discrete, integrated, virtual, then CPU (software: lavapipe, SwiftShader).
import { createRequire } from 'node:module';

export type AdapterType = 'discrete' | 'integrated' | 'virtual' | 'cpu' | 'other';

export interface GpuAdapter {
  /** PCI vendor name where known (NVIDIA, AMD, Intel, Mesa), else the hex vendor id. */
  vendor: string;
  /** The driver's device name, e.g. "NVIDIA H100" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  device: string;
  type: AdapterType;
  /** A CPU implementation of Vulkan: correct but far slower than the CPU engine. */
  software: boolean;
  /** Vulkan API version the driver reports, e.g. "1.4.305". */
  vulkan: string;
}

export interface AdapterProbe {
  /** Every Vulkan device, best first (the one the WebGPU engine takes is `adapters[0]`). */
  adapters: GpuAdapter[];
  /** Why there are none, when there are none. */
  reason?: string;
}

/** VkPhysicalDeviceType 0..4. */
const TYPES: AdapterType[] = ['other', 'integrated', 'discrete', 'virtual', 'cpu'];
const RANK: Record<AdapterType, number> = { discrete: 0, integrated: 1, virtual: 2, cpu: 3, other: 4 };
const VENDORS: Record<number, string> = {
  0x10de: 'NVIDIA',
  0x1002: 'AMD',
  0x8086: 'Intel',
  0x13b5: 'ARM',
  0x5143: 'Qualcomm',
  0x106b: 'Apple',
  0x10005: 'Mesa',
};
const VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO = 1;
/** sizeof(VkInstanceCreateInfo) on 64-bit; sizeof(VkPhysicalDeviceProperties) is 824, read into 1024. */
const CREATE_INFO_BYTES = 64;
const PROPERTIES_BYTES = 1024;

let cached: AdapterProbe | undefined;

/**
 * Lists the Vulkan devices, best first (cached for the process). Never throws: a missing loader or
 * driver gives `{adapters: [], reason}`.
 * @example
 *   const { adapters } = probeGpuAdapters();
 *   if (adapters[0] && !adapters[0].software) console.log(`GPU: ${adapters[0].device}`);
 */
export function probeGpuAdapters(): AdapterProbe {
  cached ??= probe();
  return cached;
}

/** The first adapter that is a real GPU, or undefined (then `auto` keeps the CPU engine). */
export function hardwareAdapter(p: AdapterProbe = probeGpuAdapters()): GpuAdapter | undefined {
  return p.adapters.find((a) => !a.software);
}

/** One line for logs and `phasesr info`. */
export function describeAdapter(a: GpuAdapter): string {
  return `${a.vendor} ${a.device} (${a.type}${a.software ? ', software' : ''}, Vulkan ${a.vulkan})`;
}

function probe(): AdapterProbe {
  if (process.platform !== 'linux')
    return { adapters: [], reason: `adapter listing is implemented for Linux (Vulkan) only, not ${process.platform}` };
  let koffi: typeof import('koffi');
  try {
    // Loaded on first use: an install without koffi (a checkout before `npm ci`) still serves on the CPU.
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (e) {
    return {
      adapters: [],
      reason: `cannot list Vulkan adapters: koffi is not installed (${(e as Error).message.split('\n')[0]}); run npm ci`,
    };
  }
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libvulkan.so.1');
  } catch (e) {
    return { adapters: [], reason: `no Vulkan loader (libvulkan.so.1: ${(e as Error).message}); install libvulkan1 and a Vulkan driver` };
  }
  try {
    const createInstance = lib.func('int32 vkCreateInstance(void *info, void *alloc, _Out_ void **instance)');
    const enumerate = lib.func('int32 vkEnumeratePhysicalDevices(void *instance, _Inout_ uint32 *count, _Out_ void **devices)');
    const properties = lib.func('void vkGetPhysicalDeviceProperties(void *device, _Out_ uint8 *properties)');
    const destroy = lib.func('void vkDestroyInstance(void *instance, void *alloc)');
    const info = Buffer.alloc(CREATE_INFO_BYTES);
    info.writeUInt32LE(VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, 0);
    const instance: unknown[] = [null];
    const rc = createInstance(info, null, instance) as number;
    // -9 is VK_ERROR_INCOMPATIBLE_DRIVER: the loader found no driver (ICD) at all.
    if (rc !== 0)
      return {
        adapters: [],
        reason: rc === -9 ? 'no Vulkan driver installed (the loader found no ICD)' : `vkCreateInstance failed (VkResult ${rc})`,
      };
    try {
      const count = [0];
      enumerate(instance[0], count, null);
      const devices: unknown[] = new Array(count[0]).fill(null);
      if (count[0]! > 0) enumerate(instance[0], count, devices);
      const adapters = devices.map((d) => {
        const p = Buffer.alloc(PROPERTIES_BYTES);
        properties(d, p);
        const api = p.readUInt32LE(0);
        const vendorId = p.readUInt32LE(8);
        const type = TYPES[p.readUInt32LE(16)] ?? 'other';
        const device = p.toString('utf8', 20, 20 + 256).replace(/\0.*$/s, '');
        return {
          vendor: VENDORS[vendorId] ?? `0x${vendorId.toString(16)}`,
          device,
          type,
          software: type === 'cpu',
          vulkan: `${(api >>> 22) & 0x7f}.${(api >>> 12) & 0x3ff}.${api & 0xfff}`,
        } satisfies GpuAdapter;
      });
      adapters.sort((a, b) => RANK[a.type] - RANK[b.type]);
      return adapters.length ? { adapters } : { adapters, reason: 'the Vulkan drivers report no device' };
    } finally {
      destroy(instance[0], null);
    }
  } catch (e) {
    return { adapters: [], reason: `Vulkan probe failed: ${(e as Error).message}` };
  }
}
