/*
 * Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at
 *
 *      http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 * License for the specific language governing permissions and limitations
 * under the License.
 */

/*
 * cpureport: a second nova-stx lab guest, a multiboot (v1) kernel for
 * QEMU's -kernel loader that says which CPU and timers it was given.
 *
 * Every couple of seconds (the CMOS clock's seconds, so the pace does not
 * depend on how fast TCG or KVM runs it) it executes CPUID again, probes
 * for a High Precision Event Timer, and prints one line on the first
 * serial port:
 *
 *   cpureport: n=<count> vendor=<id> family=<f> model=<m> stepping=<s>
 *     hpet_acpi=<0|1> hpet_mmio=<0|1> <feature>=<0|1> ... name=<brand>
 *
 * (one line; the brand string last because it holds spaces). Feature
 * names are libvirt's. <count> lives in guest memory, so after a live
 * migration it continues where it was, and the line is computed on the
 * CPU the guest runs on at that moment.
 *
 * HPET: hpet_acpi says whether the firmware's ACPI tables (RSDP, RSDT or
 * XSDT) list an "HPET" table; hpet_mmio whether the HPET registers answer
 * at 0xFED00000 with a plausible counter period.
 */

#include "serial.h"

#define MULTIBOOT_MAGIC 0x1BADB002u
#define MULTIBOOT_FLAGS 0x00000000u

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define REPORT_EVERY_S 2u

#define HPET_BASE 0xFED00000u
/* The HPET specification caps the counter period at 100 ns. */
#define HPET_MAX_PERIOD_FS 100000000u

__attribute__((section(".mbheader"), used, aligned(4)))
static const uint32 mb_header[3] = {
    MULTIBOOT_MAGIC, MULTIBOOT_FLAGS,
    0u - (MULTIBOOT_MAGIC + MULTIBOOT_FLAGS),
};

static uint8 boot_stack[8192] __attribute__((aligned(16), used));

void guest_main(void);

__asm__(
    ".section .text\n"
    ".global entry\n"
    "entry:\n"
    "    lea boot_stack + 8192, %esp\n"
    "    call guest_main\n"
    "stop:\n"
    "    cli\n"
    "    hlt\n"
    "    jmp stop\n");

struct regs {
    uint32 a, b, c, d;
};

/* A CPU feature bit: libvirt's name, CPUID leaf, register, bit. */
struct feature {
    const char *name;
    uint32 leaf;
    char reg;
    uint8 bit;
};

static const struct feature features[] = {
    {"ssse3", 1, 'c', 9},
    {"sse4.1", 1, 'c', 19},
    {"sse4.2", 1, 'c', 20},
    {"popcnt", 1, 'c', 23},
    {"aes", 1, 'c', 25},
    {"avx", 1, 'c', 28},
    {"fma", 1, 'c', 12},
    {"movbe", 1, 'c', 22},
    {"x2apic", 1, 'c', 21},
    {"vmx", 1, 'c', 5},
    {"hypervisor", 1, 'c', 31},
    {"avx2", 7, 'b', 5},
    {"bmi2", 7, 'b', 8},
    {"hle", 7, 'b', 4},
    {"rtm", 7, 'b', 11},
    {"avx512f", 7, 'b', 16},
    {"spec-ctrl", 7, 'd', 26},
    {"ssbd", 7, 'd', 31},
    {"lahf_lm", 0x80000001u, 'c', 0},
    {"svm", 0x80000001u, 'c', 2},
    {"sse4a", 0x80000001u, 'c', 6},
    {"nx", 0x80000001u, 'd', 20},
    {"pdpe1gb", 0x80000001u, 'd', 26},
    {"lm", 0x80000001u, 'd', 29},
    {"ibpb", 0x80000008u, 'b', 12},
};

static struct regs cpuid(uint32 leaf)
{
    struct regs r;

    __asm__ volatile("cpuid"
                     : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d)
                     : "a"(leaf), "c"(0));
    return r;
}

static uint32 reg_of(struct regs r, char reg)
{
    switch (reg) {
    case 'a': return r.a;
    case 'b': return r.b;
    case 'c': return r.c;
    default: return r.d;
    }
}

static void say_word(uint32 word)
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(word >> (8 * i));
        if (c)
            say_char(c);
    }
}

/* Physical memory reads (paging is off); asm keeps the compiler from
 * reasoning about objects at constant addresses. */
static uint32 read32(uint32 address)
{
    uint32 value;

    __asm__ volatile("movl (%1), %0" : "=r"(value) : "r"(address));
    return value;
}

static uint16 read16(uint32 address)
{
    uint16 value;

    __asm__ volatile("movw (%1), %0" : "=r"(value) : "r"(address));
    return value;
}

static int checksum_ok(uint32 address, uint32 length)
{
    uint32 sum = 0;

    for (uint32 i = 0; i < length; i += 4) {
        uint32 word = read32(address + i);
        sum += (word & 0xFF) + ((word >> 8) & 0xFF) +
               ((word >> 16) & 0xFF) + (word >> 24);
    }
    return (sum & 0xFF) == 0;
}

/* The ACPI RSDP's address: in the first KiB of the EBDA or in
 * 0xE0000-0xFFFFF, 16-byte aligned; 0 when there is none. */
static uint32 find_rsdp(void)
{
    uint32 ebda = (uint32)read16(0x40Eu) << 4;
    uint32 ranges[2][2] = {{ebda, ebda + 1024}, {0xE0000u, 0x100000u}};

    for (int r = 0; r < 2; r++) {
        if (!ranges[r][0])
            continue;
        for (uint32 p = ranges[r][0]; p + 20 <= ranges[r][1]; p += 16) {
            if (read32(p) == 0x20445352u &&        /* "RSD " */
                read32(p + 4) == 0x20525450u &&    /* "PTR " */
                checksum_ok(p, 20))
                return p;
        }
    }
    return 0;
}

/* Whether the RSDT (4-byte entries) or XSDT (8-byte) lists "HPET". */
static int sdt_lists_hpet(uint32 sdt, uint32 entry_size)
{
    uint32 length, count;

    if (!sdt)
        return 0;
    length = read32(sdt + 4);
    if (length < 36 || length > 65536)
        return 0;
    count = (length - 36) / entry_size;
    for (uint32 i = 0; i < count; i++) {
        uint32 table = read32(sdt + 36 + i * entry_size);
        if (entry_size == 8 && read32(sdt + 36 + i * 8 + 4))
            continue;   /* above 4 GiB: not reachable without paging */
        if (table && read32(table) == 0x54455048u)   /* "HPET" */
            return 1;
    }
    return 0;
}

static int hpet_in_acpi(void)
{
    uint32 rsdp = find_rsdp();

    if (!rsdp)
        return 0;
    if (sdt_lists_hpet(read32(rsdp + 16), 4))
        return 1;
    /* ACPI 2.0+: the revision byte, then the XSDT's 64-bit address. */
    if (((read32(rsdp + 12) >> 24) & 0xFF) >= 2 && !read32(rsdp + 28))
        return sdt_lists_hpet(read32(rsdp + 24), 8);
    return 0;
}

static int hpet_answers(void)
{
    uint32 capabilities = read32(HPET_BASE);
    uint32 period_fs = read32(HPET_BASE + 4);

    return capabilities != 0xFFFFFFFFu && capabilities != 0 &&
           period_fs != 0 && period_fs <= HPET_MAX_PERIOD_FS;
}

static void report(uint32 count)
{
    struct regs base = cpuid(0), ext = cpuid(0x80000000u), one = cpuid(1);
    uint32 family = (one.a >> 8) & 0xF, model = (one.a >> 4) & 0xF;

    if (family == 0xF)
        family += (one.a >> 20) & 0xFF;
    if (family == 0x6 || family >= 0xF)
        model += ((one.a >> 16) & 0xF) << 4;

    say("cpureport: n=");
    say_number(count);
    say(" vendor=");
    say_word(base.b);
    say_word(base.d);
    say_word(base.c);
    say(" family=");
    say_number(family);
    say(" model=");
    say_number(model);
    say(" stepping=");
    say_number(one.a & 0xF);
    say(" hpet_acpi=");
    say_number((uint32)hpet_in_acpi());
    say(" hpet_mmio=");
    say_number((uint32)hpet_answers());
    for (uint32 i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        const struct feature *f = &features[i];
        uint32 top = f->leaf >= 0x80000000u ? ext.a : base.a;
        uint32 on = 0;
        if (f->leaf <= top)
            on = (reg_of(cpuid(f->leaf), f->reg) >> f->bit) & 1u;
        say(" ");
        say(f->name);
        say(on ? "=1" : "=0");
    }
    say(" name=");
    if (ext.a >= 0x80000004u) {
        for (uint32 leaf = 0x80000002u; leaf <= 0x80000004u; leaf++) {
            struct regs r = cpuid(leaf);
            say_word(r.a);
            say_word(r.b);
            say_word(r.c);
            say_word(r.d);
        }
    }
    say("\n");
}

static uint32 cmos_seconds(void)
{
    port_write(CMOS_INDEX, 0x00);
    return port_read(CMOS_DATA);
}

void guest_main(void)
{
    uint32 count = 0, last = cmos_seconds(), ticks = 0;

    serial_init();
    report(++count);
    for (;;) {
        uint32 now = cmos_seconds();
        if (now == last) {
            __asm__ volatile("pause");
            continue;
        }
        last = now;
        if (++ticks % REPORT_EVERY_S == 0)
            report(++count);
    }
}
