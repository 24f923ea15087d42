/* cycles.c: a QEMU TCG plugin that estimates Cortex-M cycles per inference.
 *
 * What it does
 *   At translation time it decodes every Thumb / Thumb-2 instruction (16- or 32-bit, from
 *   qemu_plugin_insn_data) into a timing class of the Cortex-M4 instruction timing tables, and
 *   registers an inline "add" on a per-class counter, so the generated code counts executed
 *   instructions per class at the cost of one host add each. It prints, per call of the measured
 *   function, how many instructions of each class ran inside it. edgeneuro weights the classes with
 *   a core's cycle table (edgeneuro/targets/qemu_plugin.py) to give an estimated cycle count.
 *
 * Usage (QEMU 7.2, plugin API version 1; edgeneuro builds and passes all of this itself):
 *   gcc -shared -fPIC -O2 -o cycles.so cycles.c
 *   qemu-system-arm ... -plugin file=cycles.so,start=0x1a2c,ret=0x0f3e -d plugin -D cycles.log
 *   start=ADDR  the first instruction of the measured function (en_model_invoke)
 *   ret=ADDR    a return address of it (the instruction after a BL to it); may be repeated
 *   Counting of one call runs from the instruction at start= (included) to the next instruction
 *   executed at a ret= address (excluded). Lines written through qemu_plugin_outs, which QEMU only
 *   prints with -d plugin (to stderr, or to the -D file):
 *     encycles call=K insns=N alu=A it=I mul=M ...   one line per completed call, every counter
 *     encycles end calls=K                            when QEMU exits
 *   insns= is counted independently of the classes (one inline add of the block's size at the start
 *   of each translation block), so sum(classes) == insns checks the bookkeeping. It is exact unless
 *   the call itself touches I/O (a profiling build reads the timer between layers): under -icount
 *   QEMU then stops the block at the I/O instruction and runs the rest of it again as a new block,
 *   which insns= counts twice and the per-instruction class counters do not.
 *
 * Cost: one inline add per instruction (two for LDM/VLDM and address stalls) and one callback per
 *   executed block. Measured on a shared 2-core machine: QEMU itself takes about 1.5x as long
 *   (1.4x to 1.9x) when it runs hundreds of millions of instructions, and a single inference of a
 *   few million is within noise (QEMU's start-up dominates); `edgeneuro run` as a whole (compile,
 *   build, run) does not change measurably.
 *
 * Inferences. The harness (firmware/main.c) reads the SysTick timer right before and after
 *   en_model_invoke(); the plugin counts exactly the instructions of en_model_invoke() itself (the
 *   timer's figure also holds the call, the timer reads and its 40-instruction resolution).
 *
 * Conditional branches. Taken and not-taken cost differently. A conditional branch (B<c>,
 *   CBZ/CBNZ, or a PC-writing instruction in an IT block) always ends a QEMU translation block; it
 *   gets an exec callback that leaves it "pending", and a callback at the start of every block
 *   resolves it: taken unless the next block starts at the branch's fall-through address. So the
 *   taken / not-taken split is measured, not guessed (an interrupt taken right after a not-taken
 *   branch would count it as taken).
 *
 * Timing classes, Cortex-M4 (cycles in brackets; the weights themselves live in qemu_plugin.py).
 *   Sources: Arm Cortex-M4 Processor Technical Reference Manual r0p1 (Arm 100166_0001_00_en):
 *   3.3.1 "Table of processor instructions" (Table 3-1) and 3.3.2 "Load/store timings", and the
 *   instruction set table of its FPU chapter (TI's SWCU185, the CC13x2/CC26x2 reference manual,
 *   reproduces both in its Cortex-M4F chapter). P (pipeline refill) is 1 to 3 cycles there; 3.3.2
 *   and the branch notes give the values used below. For a Cortex-M3 edgeneuro weights with the
 *   Cortex-M3 TRM's Table 3-1 (MLA 2, long multiplies 3 to 7); Arm's Cortex-M7 and Cortex-M55
 *   TRMs give no per-instruction timings, so those cores fall back to the Cortex-M4 table.
 *     alu              data processing, moves, shifts, compares, extends, bit fields, REV/RBIT/CLZ,
 *                      SSAT/USAT, MOVW/MOVT, ADR, hints, MRS/MSR, barriers, SVC/BKPT        [1]
 *     it               IT (Table 3-1: 1; can fold onto a preceding 16-bit instruction: ignored) [1]
 *     mul              MUL and the 32-bit-result DSP multiplies without an accumulator (SMULxy,
 *                      SMULWy, SMUAD, SMUSD, SMMUL)                                          [1]
 *     mla              MLA/MLS and the accumulating ones (SMLAxy, SMLAWy, SMLAD, SMLSD, SMMLA,
 *                      SMMLS)                                                                [1]
 *     mul_long         SMULL/UMULL/SMLAL/UMLAL/UMAAL/SMLALxy/SMLALD/SMLSLD                    [1]
 *     div              SDIV/UDIV (2 to 12, early termination; no typical value is given)    [12]
 *     simd             DSP SIMD without a multiply: parallel add/sub (SADD16, QADD8, SHADD8..),
 *                      QADD/QSUB/QDADD/QDSUB, SEL, SXTB16/UXTB16/SXTAB16/UXTAB16, PKHBT/PKHTB,
 *                      SSAT16/USAT16, USAD8/USADA8                                          [1]
 *     load             LDR/LDRB/LDRH/LDRSB/LDRSH/LDREX (immediate, register, literal)       [2]
 *     load_pipelined   such a load right after a single load (no writeback) whose destination
 *                      is not its base or offset (3.3.2: "one cycle is removed")             [1]
 *     store            STR/STRB/STRH/STREX with an immediate offset (3.3.2: "always one cycle")
 *                                                                                           [1]
 *     store_reg        STR with a register offset (Table 3-1)                                [2]
 *     store_pipelined  a register-offset STR right after such a load (3.3.2)                [1]
 *     ldst_double      LDRD/STRD (1 + N, N = 2; 3.3.2: not pipelined, three cycles)          [3]
 *     ldm              LDM/STM/PUSH/POP without PC: 1 + N, N counted in ldm_regs             [1]
 *     ldm_pc           LDM/POP loading PC: 1 + N + P, P = 3 as for LDR PC                    [4]
 *     load_pc          LDR PC (3.3.2: "at least five cycles")                                [5]
 *     branch           taken B/BL/B<c>/CBZ/CBNZ with an immediate target: 1 + P, P = 1
 *                      ("normally 1 cycle of pipeline reload")                               [2]
 *     branch_reg       BX/BLX/MOV PC/ADD PC: register target, "normally 2 cycles of pipeline
 *                      reload"                                                               [3]
 *     branch_not_taken a conditional branch that falls through                              [1]
 *     table_branch     TBB/TBH (3.3.2: "at least six cycles")                                [6]
 *     fp               VADD/VSUB/VMUL/VNMUL/VABS/VNEG/VCMP/VCVT/VMOV/VMRS/VMSR                [1]
 *     fp_mac           VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS                          [3]
 *     fp_div           VDIV/VSQRT                                                          [14]
 *     fp_load          VLDR/VSTR of a single register                                       [2]
 *     fp_load64        VLDR/VSTR of a double register                                       [3]
 *     fp_ldm           VLDM/VSTM/VPUSH/VPOP: 1 + N words, N counted in fp_ldm_words          [1]
 *     fp_mov2          VMOV between two core registers and two S / one D register           [2]
 *     mve              other coprocessor-space instructions: MVE (Helium) on a Cortex-M55. No
 *                      Cortex-M4 counterpart; assumed: a 128-bit (4-beat) instruction on a core
 *                      Arm describes as dual-beat                                            [2]
 *     lob              Armv8.1-M branch-future and low-overhead-loop instructions (BF*, DLS,
 *                      WLS, LE)                                                              [1]
 *     other            anything the decoder does not place (also UDF)                        [1]
 *   Counters that are not instructions (units, each weighted 1):
 *     ldm_regs         registers moved by LDM/STM/PUSH/POP (the N of 1 + N)
 *     fp_ldm_words     words moved by VLDM/VSTM/VPUSH/VPOP
 *     addr_stall       a load/store whose address register the preceding data-processing
 *                      instruction wrote (3.3.2: "stalls the pipeline for an additional cycle")
 *   Back-to-back rules (pipelined loads, address stalls) are applied between neighbours in the same
 *   translation block only: the first instruction of a block is never "pipelined". IT blocks are
 *   followed within a block too (QEMU keeps an IT block in one block unless it hits a page end).
 *
 * What this model ignores. It is an estimate from instruction classes, not a pipeline simulation:
 *   flash wait states and the flash accelerator / prefetch buffer (the TRM's counts assume zero
 *   wait states), caches (Cortex-M7), bus contention between instruction fetch and data (including
 *   the extra cycle a literal load may take), unaligned accesses, branch-target alignment and width
 *   (P is taken as 1, 2 or 3 as listed), branch prediction (Cortex-M7), dual issue (Cortex-M7,
 *   Cortex-M55) and MVE beat overlap (Cortex-M55), register-dependency stalls other than the
 *   address one (e.g. FP result latency), IT folding, and exception entry and return (12 cycles
 *   each on a Cortex-M4; the SysTick handler's own instructions are counted).
 *
 * Written for edgeneuro from the plugin ABI QEMU documents in include/qemu/qemu-plugin.h (API
 * version 1, QEMU 7.2): QEMU's development headers are not needed, the few declarations used are
 * below. One quirk of 7.2 is handled in decode(): an instruction's bytes can carry the next
 * instruction's first halfword.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The QEMU plugin API (version 1) used here ---- */
#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef struct {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

EXPORT int qemu_plugin_version = 1;

/* ---- Counters ---- */
enum {
    C_ALU,
    C_IT,
    C_MUL,
    C_MLA,
    C_MUL_LONG,
    C_DIV,
    C_SIMD,
    C_LOAD,
    C_LOAD_PIPELINED,
    C_STORE,
    C_STORE_REG,
    C_STORE_PIPELINED,
    C_LDST_DOUBLE,
    C_LDM,
    C_LDM_PC,
    C_LOAD_PC,
    C_BRANCH,
    C_BRANCH_REG,
    C_BRANCH_NOT_TAKEN,
    C_TABLE_BRANCH,
    C_FP,
    C_FP_MAC,
    C_FP_DIV,
    C_FP_LOAD,
    C_FP_LOAD64,
    C_FP_LDM,
    C_FP_MOV2,
    C_MVE,
    C_LOB,
    C_OTHER,
    N_CLASSES, /* the counters above are instructions; the ones below are extra units */
    U_LDM_REGS = N_CLASSES,
    U_FP_LDM_WORDS,
    U_ADDR_STALL,
    N_COUNTERS
};
static const char *const NAMES[] = {
    "alu",       "it",           "mul",          "mla",         "mul_long",         "div",
    "simd",      "load",         "load_pipelined", "store",     "store_reg",        "store_pipelined",
    "ldst_double", "ldm",        "ldm_pc",       "load_pc",     "branch",           "branch_reg",
    "branch_not_taken", "table_branch", "fp",    "fp_mac",      "fp_div",           "fp_load",
    "fp_load64", "fp_ldm",       "fp_mov2",      "mve",         "lob",              "other",
    "ldm_regs",  "fp_ldm_words", "addr_stall",
};
_Static_assert(sizeof NAMES / sizeof NAMES[0] == N_COUNTERS, "one name per counter");

static uint64_t counters[N_COUNTERS]; /* whole run, bumped by the generated code */
static uint64_t tb_insns;             /* instructions of every block entered (inline, per block) */

/* ---- Decoding ---- */
enum { MEM_NONE, MEM_LOAD, MEM_STORE, MEM_OTHER }; /* MEM_OTHER: LDRD/STRD/LDM/STM/VLDR/... */

typedef struct {
    uint8_t cls;
    uint8_t unit;  /* U_* counter for extra units, or 0 */
    uint8_t units; /* how many */
    uint8_t mem;
    bool writeback;   /* a load/store that updates its base register */
    bool store_imm;   /* a store with an immediate offset */
    bool dp;          /* a data-processing instruction (for the address-stall rule) */
    bool writes_pc;   /* a branch of any kind (ends the block) */
    bool cond;        /* a conditional branch: B<c>, CBZ/CBNZ (IT blocks are added later) */
    uint8_t it_len;   /* IT: number of instructions in the block */
    uint16_t writes;  /* core registers written */
    uint16_t addr;    /* core registers that form the address */
} insn_t;

#define R(n) ((uint16_t)(1u << (n)))
#define BITS(v, hi, lo) (((v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1u))
#define BIT(v, n) (((v) >> (n)) & 1u)

static unsigned popcount16(unsigned v)
{
    return (unsigned)__builtin_popcount(v & 0xFFFFu);
}

static void load(insn_t *d, unsigned rt, uint16_t addr, bool writeback, unsigned rn)
{
    d->mem = MEM_LOAD;
    d->cls = C_LOAD;
    d->addr = addr;
    d->writeback = writeback;
    d->writes = R(rt) | (writeback ? R(rn) : 0);
    if (rt == 15) {
        d->cls = C_LOAD_PC;
        d->writes_pc = true;
        d->mem = MEM_OTHER;
    }
}

static void store(insn_t *d, bool imm, uint16_t addr, bool writeback, unsigned rn)
{
    d->mem = MEM_STORE;
    d->cls = imm ? C_STORE : C_STORE_REG;
    d->store_imm = imm;
    d->addr = addr;
    d->writeback = writeback;
    d->writes = writeback ? R(rn) : 0;
}

static void multiple(insn_t *d, bool is_load, unsigned rn, unsigned list, bool writeback)
{
    d->mem = MEM_OTHER;
    d->cls = C_LDM;
    d->unit = U_LDM_REGS;
    d->units = (uint8_t)popcount16(list);
    d->addr = R(rn);
    d->writes = (is_load ? (uint16_t)list : 0) | (writeback ? R(rn) : 0);
    if (is_load && (list & 0x8000u)) {
        d->cls = C_LDM_PC;
        d->writes_pc = true;
    }
}

static void alu(insn_t *d, uint8_t cls, uint16_t writes)
{
    d->cls = cls;
    d->dp = true;
    d->writes = writes;
}

/* Armv7-M ARM (DDI 0403E) A5.2: 16-bit Thumb instruction encoding. */
static void decode16(unsigned h, insn_t *d)
{
    if ((h >> 14) == 0) { /* 00xxxx: shift (immediate), add, subtract, move, compare */
        unsigned op5 = h >> 11;
        if (op5 == 5) {
            alu(d, C_ALU, 0); /* CMP imm8 */
        } else if (op5 >= 4) {
            alu(d, C_ALU, R(BITS(h, 10, 8))); /* MOV/ADD/SUB imm8 */
        } else {
            alu(d, C_ALU, R(h & 7u)); /* LSL/LSR/ASR imm, ADD/SUB register or imm3 */
        }
    } else if ((h >> 10) == 0x10) { /* 010000: data processing (register) */
        unsigned op = BITS(h, 9, 6);
        bool compare = op == 8 || op == 10 || op == 11; /* TST, CMP, CMN */
        alu(d, op == 13 ? C_MUL : C_ALU, compare ? 0 : R(h & 7u));
    } else if ((h >> 10) == 0x11) { /* 010001: special data processing, branch and exchange */
        unsigned op = BITS(h, 9, 6), rd = (BIT(h, 7) << 3) | (h & 7u);
        if ((op >> 2) == 0 || (op >> 2) == 2) { /* ADD / MOV (high registers) */
            if (rd == 15) {
                d->cls = C_BRANCH_REG;
                d->writes_pc = true;
            } else {
                alu(d, C_ALU, R(rd));
            }
        } else if ((op >> 2) == 1) {
            alu(d, C_ALU, 0); /* CMP (high registers) */
        } else {
            d->cls = C_BRANCH_REG; /* BX, BLX (register) */
            d->writes_pc = true;
            d->writes = BIT(h, 7) ? R(14) : 0;
        }
    } else if ((h >> 11) == 0x09) { /* 01001: LDR (literal) */
        load(d, BITS(h, 10, 8), 0, false, 0);
    } else if ((h >> 12) == 0x5) { /* 0101: load/store, register offset */
        unsigned op = BITS(h, 11, 9), rt = h & 7u, rn = BITS(h, 5, 3), rm = BITS(h, 8, 6);
        if (op <= 2) {
            store(d, false, R(rn) | R(rm), false, rn); /* STR, STRH, STRB */
        } else {
            load(d, rt, R(rn) | R(rm), false, rn); /* LDRSB, LDR, LDRH, LDRB, LDRSH */
        }
    } else if ((h >> 13) == 0x3 || (h >> 12) == 0x8) { /* 011xx / 1000x: immediate offset */
        unsigned rt = h & 7u, rn = BITS(h, 5, 3);
        if (BIT(h, 11)) {
            load(d, rt, R(rn), false, rn);
        } else {
            store(d, true, R(rn), false, rn);
        }
    } else if ((h >> 12) == 0x9) { /* 1001x: SP-relative */
        if (BIT(h, 11)) {
            load(d, BITS(h, 10, 8), R(13), false, 13);
        } else {
            store(d, true, R(13), false, 13);
        }
    } else if ((h >> 12) == 0xA) { /* 1010x ADR, 1010 1 ADD (SP plus immediate) */
        alu(d, C_ALU, R(BITS(h, 10, 8)));
    } else if ((h >> 12) == 0xB) { /* 1011: miscellaneous */
        if ((h & 0x0F00u) == 0x0000u) {
            alu(d, C_ALU, R(13)); /* ADD/SUB SP, SP, #imm7 */
        } else if ((h & 0x0500u) == 0x0100u) {
            d->cls = C_BRANCH; /* CBZ / CBNZ */
            d->cond = true;
            d->writes_pc = true;
        } else if ((h & 0x0F00u) == 0x0200u) {
            alu(d, C_ALU, R(h & 7u)); /* SXTH, SXTB, UXTH, UXTB */
        } else if ((h & 0x0E00u) == 0x0400u) { /* PUSH */
            multiple(d, false, 13, (h & 0xFFu) | (BIT(h, 8) << 14), true);
        } else if ((h & 0x0FE0u) == 0x0660u) {
            alu(d, C_ALU, 0); /* CPS */
        } else if ((h & 0x0F00u) == 0x0A00u) {
            alu(d, C_ALU, R(h & 7u)); /* REV, REV16, REVSH */
        } else if ((h & 0x0E00u) == 0x0C00u) { /* POP */
            multiple(d, true, 13, (h & 0xFFu) | (BIT(h, 8) << 15), true);
        } else if ((h & 0x0F00u) == 0x0E00u) {
            alu(d, C_ALU, 0); /* BKPT */
        } else if ((h & 0x0F00u) == 0x0F00u) {
            if (h & 0xFu) { /* IT: the block is as long as the mask's lowest set bit says */
                d->cls = C_IT;
                d->it_len = (uint8_t)(4 - __builtin_ctz(h & 0xFu));
            } else {
                alu(d, C_ALU, 0); /* NOP, YIELD, WFE, WFI, SEV */
            }
        } else {
            d->cls = C_OTHER;
        }
    } else if ((h >> 12) == 0xC) { /* STM / LDM */
        unsigned rn = BITS(h, 10, 8), list = h & 0xFFu;
        bool is_load = BIT(h, 11);
        multiple(d, is_load, rn, list, !is_load || !(list & R(rn)));
    } else if ((h >> 12) == 0xD) { /* conditional branch, UDF, SVC */
        unsigned cond = BITS(h, 11, 8);
        if (cond >= 0xE) {
            d->cls = cond == 0xF ? C_ALU : C_OTHER;
        } else {
            d->cls = C_BRANCH;
            d->cond = true;
            d->writes_pc = true;
        }
    } else if ((h >> 11) == 0x1C) { /* B (T2) */
        d->cls = C_BRANCH;
        d->writes_pc = true;
    } else {
        d->cls = C_OTHER;
    }
}

/* Coprocessor space: FPv4/FPv5 (cp10, cp11) and, on Armv8.1-M, MVE. Armv7-M ARM A6.4, A6.5. */
static void decode_cp(unsigned h1, unsigned h2, insn_t *d)
{
    unsigned coproc = BITS(h2, 11, 8), op1 = BITS(h1, 9, 4), rn = h1 & 15u;
    if ((coproc & 0xEu) != 0xAu || (op1 & 0x30u) == 0x30u) {
        d->cls = C_MVE;
        return;
    }
    if ((op1 & 0x3Eu) == 0x04u) { /* 64-bit transfers between core and extension registers */
        d->cls = C_FP_MOV2;
        d->writes = BIT(h1, 4) ? (uint16_t)(R(BITS(h2, 15, 12)) | R(BITS(h1, 3, 0))) : 0;
    } else if ((op1 & 0x20u) == 0) { /* extension register load/store */
        bool p = BIT(h1, 8), w = BIT(h1, 5);
        d->mem = MEM_OTHER;
        d->addr = rn == 15 ? 0 : R(rn);
        if (p && !w) {
            d->cls = coproc == 0xBu ? C_FP_LOAD64 : C_FP_LOAD; /* VLDR / VSTR */
        } else {
            d->cls = C_FP_LDM; /* VLDM / VSTM / VPUSH / VPOP */
            d->unit = U_FP_LDM_WORDS;
            d->units = (uint8_t)(h2 & 0xFFu);
            d->writes = w ? R(rn) : 0;
        }
    } else if (!BIT(h2, 4)) { /* floating-point data processing */
        unsigned opc1 = BITS(h1, 7, 4) & 0xBu, opc2 = BITS(h1, 3, 0), opc3 = BITS(h2, 7, 6);
        if (opc1 <= 1 || opc1 == 9 || opc1 == 10) {
            d->cls = C_FP_MAC; /* VMLA, VMLS, VNMLA, VNMLS, VFNMA, VFNMS, VFMA, VFMS */
        } else if (opc1 == 8 || (opc1 == 11 && opc2 == 1 && opc3 == 3)) {
            d->cls = C_FP_DIV; /* VDIV, VSQRT */
        } else {
            d->cls = C_FP;
        }
    } else { /* 8/16/32-bit transfers: VMOV core <-> S, VMRS, VMSR */
        d->cls = C_FP;
        unsigned rt = BITS(h2, 15, 12);
        d->writes = (BIT(h1, 4) && rt != 15) ? R(rt) : 0;
    }
}

/* Armv7-M ARM A5.3: 32-bit Thumb instruction encoding. */
static void decode32(unsigned h1, unsigned h2, insn_t *d)
{
    unsigned op1 = BITS(h1, 12, 11), op2 = BITS(h1, 10, 4), rn = h1 & 15u, rt = BITS(h2, 15, 12);
    unsigned rd = BITS(h2, 11, 8);
    if ((h1 & 0xEC00u) == 0xEC00u) {
        decode_cp(h1, h2, d);
    } else if (op1 == 1) {
        if ((op2 & 0x64u) == 0x00u) { /* load/store multiple */
            bool is_load = BIT(h1, 4);
            multiple(d, is_load, rn, h2 & 0xFFFFu, BIT(h1, 5));
        } else if ((op2 & 0x64u) == 0x04u) { /* load/store dual or exclusive, table branch */
            unsigned o1 = BITS(h1, 8, 7), o2 = BITS(h1, 5, 4), o3 = BITS(h2, 7, 4);
            if (o1 == 0 && o2 == 0) {
                store(d, true, R(rn), false, rn); /* STREX */
                d->writes = R(rd);
            } else if (o1 == 0 && o2 == 1) {
                load(d, rt, R(rn), false, rn); /* LDREX */
            } else if (o1 == 1 && o2 == 0) {
                store(d, true, R(rn), false, rn); /* STREXB/H */
                d->writes = R(h2 & 15u);
            } else if (o1 == 1 && o2 == 1) {
                if (o3 <= 1) {
                    d->cls = C_TABLE_BRANCH; /* TBB, TBH */
                    d->mem = MEM_OTHER;
                    d->addr = R(rn) | R(h2 & 15u);
                    d->writes_pc = true;
                } else {
                    load(d, rt, R(rn), false, rn); /* LDREXB/H */
                }
            } else { /* LDRD / STRD */
                bool wb = BIT(h1, 5);
                d->cls = C_LDST_DOUBLE;
                d->mem = MEM_OTHER;
                d->addr = rn == 15 ? 0 : R(rn);
                d->writes = (BIT(h1, 4) ? (uint16_t)(R(rt) | R(rd)) : 0) | (wb ? R(rn) : 0);
            }
        } else if ((op2 & 0x60u) == 0x20u) { /* data processing (shifted register) */
            unsigned op = BITS(h1, 8, 5);
            bool compare = rd == 15 && BIT(h1, 4);
            alu(d, op == 6 ? C_SIMD : C_ALU, compare ? 0 : R(rd)); /* op 6: PKHBT/PKHTB */
        } else {
            d->cls = C_OTHER;
        }
    } else if (op1 == 2) {
        if (!BIT(h2, 15)) {
            if (!BIT(h1, 9)) { /* data processing (modified immediate) */
                alu(d, C_ALU, (rd == 15 && BIT(h1, 4)) ? 0 : R(rd));
            } else { /* data processing (plain binary immediate) */
                unsigned op = BITS(h1, 8, 4);
                bool sat16 = (op == 0x12 || op == 0x1A) && BITS(h2, 14, 12) == 0 && BITS(h2, 7, 6) == 0;
                alu(d, sat16 ? C_SIMD : C_ALU, R(rd)); /* SSAT16 / USAT16 are SIMD */
            }
        } else { /* branches and miscellaneous control */
            unsigned o = BITS(h2, 14, 12);
            if ((o & 5u) == 0) {
                if (BITS(h1, 9, 7) != 7) {
                    d->cls = C_BRANCH; /* B<c> (T3) */
                    d->cond = true;
                    d->writes_pc = true;
                } else { /* MSR, MRS, hints, barriers, UDF */
                    alu(d, C_ALU, (BITS(h1, 10, 4) & 0x7Eu) == 0x3Eu ? R(rd) : 0); /* MRS writes Rd */
                }
            } else if ((o & 5u) == 1 || (o & 5u) == 5) {
                d->cls = C_BRANCH; /* B (T4), BL */
                d->writes_pc = true;
                d->writes = (o & 4u) ? R(14) : 0;
            } else {
                d->cls = C_LOB; /* Armv8.1-M DLS / WLS / LE (BLX immediate does not exist on M) */
                d->writes = R(14);
            }
        }
    } else { /* op1 == 3 */
        if ((op2 & 0x71u) == 0x00u) { /* store single data item */
            if (BIT(h1, 7)) {
                store(d, true, R(rn), false, rn); /* imm12 */
            } else if (BIT(h2, 11)) {
                bool wb = BIT(h2, 8) || !BIT(h2, 10); /* imm8: writeback, or post-indexed */
                store(d, true, R(rn), wb, rn);
            } else {
                store(d, false, R(rn) | R(h2 & 15u), false, rn); /* register offset */
            }
        } else if ((op2 & 0x67u) == 0x01u || (op2 & 0x67u) == 0x03u || (op2 & 0x67u) == 0x05u) {
            bool word = (op2 & 0x67u) == 0x05u; /* load byte / halfword / word; PLD, PLI */
            if (rt == 15 && !word) {
                alu(d, C_ALU, 0); /* PLD / PLI: hints */
            } else if (rn == 15) {
                load(d, rt, 0, false, rn); /* literal */
            } else if (BIT(h1, 7)) {
                load(d, rt, R(rn), false, rn); /* imm12 */
            } else if (BIT(h2, 11)) {
                bool wb = BIT(h2, 8) || !BIT(h2, 10);
                load(d, rt, R(rn), wb, rn); /* imm8, and the T variants */
            } else {
                load(d, rt, R(rn) | R(h2 & 15u), false, rn); /* register offset */
            }
        } else if ((op2 & 0x70u) == 0x20u) { /* data processing (register) */
            unsigned o1 = BITS(h1, 7, 4), o2 = BITS(h2, 7, 4);
            uint8_t cls = C_OTHER;
            if (o2 == 0 && o1 < 8) {
                cls = C_ALU; /* LSL, LSR, ASR, ROR (register) */
            } else if ((o2 & 8u) && o1 <= 5) {
                cls = (o1 == 2 || o1 == 3) ? C_SIMD : C_ALU; /* extends; SXTB16/UXTB16 (+A) are SIMD */
            } else if ((o1 & 8u) && !(o2 & 8u)) {
                cls = C_SIMD; /* parallel addition and subtraction */
            } else if ((o1 & 0xCu) == 8u && (o2 & 0xCu) == 8u) {
                unsigned m = o1 & 3u; /* QADD/QDADD/QSUB/QDSUB, REV.., SEL, CLZ */
                cls = (m == 0 || m == 2) ? C_SIMD : C_ALU;
            }
            alu(d, cls, R(rd));
        } else if ((op2 & 0x78u) == 0x30u) { /* multiply, multiply accumulate, absolute difference */
            unsigned o1 = BITS(h1, 6, 4), o2 = BITS(h2, 5, 4);
            bool acc = rt != 15 || (o1 == 0 && o2 == 1) || (o1 == 5 && o2 >= 2); /* Ra, MLS, SMMLS */
            alu(d, (o1 == 7 && o2 == 0) ? C_SIMD : acc ? C_MLA : C_MUL, R(rd)); /* 7: USAD8/USADA8 */
        } else if ((op2 & 0x78u) == 0x38u) { /* long multiply, long multiply accumulate, divide */
            unsigned o1 = BITS(h1, 6, 4), o2 = BITS(h2, 7, 4);
            if ((o1 == 1 || o1 == 3) && o2 == 0xF) {
                alu(d, C_DIV, R(rd));
            } else {
                alu(d, C_MUL_LONG, R(rt) | R(rd));
            }
        } else {
            d->cls = C_OTHER;
        }
    }
}

/* Decodes the instruction at p and returns its length in bytes (2 or 4), or 0 if it is not Thumb.
 * The length comes from the first halfword, not from qemu_plugin_insn_size(): QEMU 7.2 also records
 * the first halfword of the next instruction when it checks whether that one crosses a page, so
 * the reported size can be 2 bytes too long. */
static size_t decode(const uint8_t *p, size_t size, insn_t *d)
{
    memset(d, 0, sizeof *d);
    d->cls = C_OTHER;
    if (size < 2) {
        return 0;
    }
    unsigned h1 = (unsigned)p[0] | ((unsigned)p[1] << 8);
    if ((h1 >> 11) < 0x1Du) {
        decode16(h1, d);
        return 2;
    }
    if (size < 4) {
        return 0;
    }
    decode32(h1, (unsigned)p[2] | ((unsigned)p[3] << 8), d);
    return 4;
}

/* ---- Run-time state ---- */
typedef struct {
    uint8_t ctr, n;
} inc_t;

/* An instruction that needs a callback: a conditional branch, or one of the markers. */
typedef struct special {
    uint64_t vaddr;
    uint64_t fallthrough;
    uint8_t flags;
    uint8_t n_taken, n_plain;
    inc_t taken[3];    /* a conditional branch that branches */
    inc_t plain[3];    /* a marker that is not a conditional branch */
    uint32_t tb_after; /* instructions of its block from this one on (included) */
    struct special *next_alloc;
} special_t;

#define F_COND 1u
#define F_START 2u
#define F_RET 4u

#define MAX_RETS 16
static uint64_t start_addr = UINT64_MAX;
static uint64_t ret_addrs[MAX_RETS];
static int n_rets;

static special_t *pending;    /* a conditional branch executed, not resolved yet */
static special_t *allocated;  /* every special_t, freed at exit */
static bool in_call;
static uint64_t snapshot[N_COUNTERS], snapshot_insns;
static uint64_t calls;

static void apply(const inc_t *incs, int n)
{
    for (int i = 0; i < n; ++i) {
        counters[incs[i].ctr] += incs[i].n;
    }
}

/* The instruction at vaddr is the first one after the pending branch. */
static void resolve(uint64_t vaddr)
{
    if (pending) {
        if (vaddr == pending->fallthrough) {
            counters[C_BRANCH_NOT_TAKEN] += 1;
        } else {
            apply(pending->taken, pending->n_taken);
        }
        pending = NULL;
    }
}

static void on_block(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    resolve((uint64_t)(uintptr_t)udata);
}

static void emit(const char *line)
{
    qemu_plugin_outs(line);
}

static void on_special(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    special_t *s = udata;
    resolve(s->vaddr);
    /* The block's inline instruction count (at its start) already holds this instruction and the
     * rest of its block: take them off so that the window runs [start, ret). */
    uint64_t insns_before = tb_insns - s->tb_after;
    if ((s->flags & F_RET) && in_call) {
        char line[2048];
        int len = snprintf(line, sizeof line, "encycles call=%llu insns=%llu", (unsigned long long)calls,
                           (unsigned long long)(insns_before - snapshot_insns));
        for (int c = 0; c < N_COUNTERS && len < (int)sizeof line; ++c) {
            len += snprintf(line + len, sizeof line - (size_t)len, " %s=%llu", NAMES[c],
                            (unsigned long long)(counters[c] - snapshot[c]));
        }
        if (len < (int)sizeof line - 1) {
            line[len] = '\n';
            line[len + 1] = '\0';
        }
        emit(line);
        ++calls;
        in_call = false;
    }
    if ((s->flags & F_START) && !in_call) {
        memcpy(snapshot, counters, sizeof snapshot);
        snapshot_insns = insns_before;
        in_call = true;
    }
    if (s->flags & F_COND) {
        pending = s;
    } else {
        apply(s->plain, s->n_plain);
    }
}

static int increments(const insn_t *d, inc_t *out)
{
    int n = 0;
    out[n++] = (inc_t){d->cls, 1};
    if (d->unit && d->units) {
        out[n++] = (inc_t){d->unit, d->units};
    }
    return n;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)vaddr);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &tb_insns, n);

    insn_t prev = {0};
    bool have_prev = false;
    unsigned it_left = 0;
    for (size_t i = 0; i < n; ++i) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        insn_t d;
        size_t size = decode(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn), &d);

        bool in_it = it_left > 0;
        if (in_it) {
            --it_left;
        }
        if (d.cls == C_IT) {
            it_left = d.it_len;
        }
        bool cond = d.writes_pc && (d.cond || in_it);

        /* Neighbour rules (TRM 3.3.2), within the block. */
        uint8_t stall = 0;
        if (have_prev && (d.mem == MEM_LOAD || d.mem == MEM_STORE) && prev.mem == MEM_LOAD && !prev.writeback &&
            !(prev.writes & d.addr)) {
            if (d.mem == MEM_LOAD) {
                d.cls = C_LOAD_PIPELINED;
            } else if (!d.store_imm) {
                d.cls = C_STORE_PIPELINED;
            }
        } else if (have_prev && d.mem != MEM_NONE && prev.dp && (prev.writes & d.addr)) {
            stall = 1;
        }

        inc_t incs[3];
        int k = increments(&d, incs);
        if (stall) {
            incs[k++] = (inc_t){U_ADDR_STALL, 1};
        }

        uint8_t flags = 0;
        if (pc == start_addr) {
            flags |= F_START;
        }
        for (int r = 0; r < n_rets; ++r) {
            if (pc == ret_addrs[r]) {
                flags |= F_RET;
            }
        }
        if (cond) {
            flags |= F_COND;
        }
        if (flags) {
            special_t *s = calloc(1, sizeof *s);
            if (!s) {
                abort();
            }
            s->vaddr = pc;
            s->fallthrough = pc + size;
            s->flags = flags;
            s->tb_after = (uint32_t)(n - i);
            memcpy(cond ? s->taken : s->plain, incs, sizeof incs);
            if (cond) {
                s->n_taken = (uint8_t)k;
            } else {
                s->n_plain = (uint8_t)k;
            }
            s->next_alloc = allocated;
            allocated = s;
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_special, QEMU_PLUGIN_CB_NO_REGS, s);
        } else {
            for (int j = 0; j < k; ++j) {
                qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counters[incs[j].ctr],
                                                           incs[j].n);
            }
        }
        prev = d;
        have_prev = true;
    }
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    char line[64];
    snprintf(line, sizeof line, "encycles end calls=%llu\n", (unsigned long long)calls);
    emit(line);
    while (allocated) {
        special_t *s = allocated;
        allocated = s->next_alloc;
        free(s);
    }
    pending = NULL;
}

static bool parse_addr(const char *arg, const char *key, uint64_t *out)
{
    size_t len = strlen(key);
    if (strncmp(arg, key, len) != 0 || arg[len] != '=') {
        return false;
    }
    char *end;
    *out = strtoull(arg + len + 1, &end, 0) & ~(uint64_t)1; /* Thumb bit off */
    return *end == '\0' && end != arg + len + 1;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (info && info->target_name && strcmp(info->target_name, "arm") != 0) {
        fprintf(stderr, "cycles plugin: target %s is not arm\n", info->target_name);
        return -1;
    }
    for (int i = 0; i < argc; ++i) {
        uint64_t a;
        if (parse_addr(argv[i], "start", &a)) {
            start_addr = a;
        } else if (parse_addr(argv[i], "ret", &a) && n_rets < MAX_RETS) {
            ret_addrs[n_rets++] = a;
        } else {
            fprintf(stderr, "cycles plugin: bad argument '%s' (expected start=ADDR, ret=ADDR)\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
