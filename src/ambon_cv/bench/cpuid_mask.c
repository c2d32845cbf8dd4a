/* An older CPU's instruction set on this one, for every library in the process.
 *
 * Loaded with LD_PRELOAD and AMBON_CPU_ISA=avx2 (AVX2 and FMA: no AVX-512, no VNNI of any
 * kind, no AMX, as on a Haswell-to-Zen-2 box) or avx512_core (AVX-512 without VNNI, BF16 or
 * AMX, as on a Skylake-SP). Libraries pick their kernels from the CPUID instruction
 * (OpenVINO, oneDNN, OpenCV, numpy, torch, ffmpeg), so this makes CPUID fault
 * (arch_prctl ARCH_SET_CPUID, "cpuid_fault" in /proc/cpuinfo) and answers it from the SIGSEGV
 * handler with the newer features' bits cleared. The setting is kept by threads and forks and
 * reset by execve, which loads this again from the environment.
 *
 * The handler must stay first for SIGSEGV: sigaction() and signal() calls for it are kept
 * here as the handler to chain to on a real fault (Python's faulthandler still reports it).
 *
 * Built by ambon_cv.bench.emulate.shim(): gcc -O2 -shared -fPIC.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define BIT(n) (1u << (n))

enum { OFF, AVX2, AVX512_CORE };
static int level = OFF;
static struct sigaction chained; /* the process's own SIGSEGV handler */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static void native_cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
}

static void hide(unsigned leaf, unsigned sub, unsigned r[4]) {
  if (leaf == 7 && sub == 0) {
    if (level == AVX2) {
      /* EBX: AVX512 F, DQ, IFMA, PF, ER, CD, BW, VL */
      r[1] &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31));
      /* ECX: AVX512 VBMI, VBMI2, BITALG, VPOPCNTDQ; GFNI, VAES, VPCLMULQDQ (not on Zen 1) */
      r[2] &= ~(BIT(1) | BIT(6) | BIT(8) | BIT(9) | BIT(10) | BIT(12) | BIT(14));
      /* EDX: AVX512 4VNNIW, 4FMAPS, VP2INTERSECT, FP16 */
      r[3] &= ~(BIT(2) | BIT(3) | BIT(8) | BIT(23));
    }
    r[2] &= ~BIT(11);                       /* AVX512_VNNI */
    r[3] &= ~(BIT(22) | BIT(24) | BIT(25)); /* AMX BF16, TILE, INT8 */
  } else if (leaf == 7 && sub == 1) {
    /* EAX: AVX_VNNI, AVX512_BF16, AMX_FP16, AVX_IFMA; EDX: AVX_VNNI_INT8, AVX_NE_CONVERT,
       AVX_VNNI_INT16, AVX10 */
    r[0] &= ~(BIT(4) | BIT(5) | BIT(21) | BIT(22) | BIT(23));
    r[3] &= ~(BIT(4) | BIT(5) | BIT(10) | BIT(19));
  } else if (leaf == 0xd && sub == 0) {
    if (level == AVX2) r[0] &= ~(BIT(5) | BIT(6) | BIT(7)); /* AVX-512 register state */
    r[0] &= ~(BIT(17) | BIT(18));                            /* AMX tile state */
  }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
  greg_t *reg = ((ucontext_t *)context)->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)reg[REG_RIP];
  if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) { /* cpuid */
    unsigned r[4], leaf = (unsigned)reg[REG_RAX], sub = (unsigned)reg[REG_RCX];
    native_cpuid(leaf, sub, r);
    hide(leaf, sub, r);
    reg[REG_RAX] = r[0], reg[REG_RBX] = r[1], reg[REG_RCX] = r[2], reg[REG_RDX] = r[3];
    reg[REG_RIP] += 2;
    return;
  }
  if (chained.sa_flags & SA_SIGINFO) {
    chained.sa_sigaction(sig, info, context);
  } else if (chained.sa_handler == SIG_DFL || chained.sa_handler == SIG_IGN) {
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &dfl, NULL); /* the fault comes again and ends the process */
  } else {
    chained.sa_handler(sig);
  }
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV || level == OFF) return real_sigaction(sig, act, old);
  if (old) *old = chained;
  if (act) chained = *act;
  return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction act = {0}, old;
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

__attribute__((constructor)) static void start(void) {
  real_sigaction = dlsym(RTLD_NEXT, "sigaction");
  const char *want = getenv("AMBON_CPU_ISA");
  if (!want || !(strcmp(want, "avx2") == 0 || strcmp(want, "avx512_core") == 0)) return;
  struct sigaction act = {0};
  act.sa_sigaction = on_segv;
  act.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&act.sa_mask);
  real_sigaction(SIGSEGV, &act, &chained);
  if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
    real_sigaction(SIGSEGV, &chained, NULL); /* this kernel or CPU cannot: nothing hidden */
    return;
  }
  level = strcmp(want, "avx2") == 0 ? AVX2 : AVX512_CORE;
}
