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
 * memload: the nova-stx lab guest, a multiboot (v1) kernel for QEMU's
 * -kernel loader that gives a live migration a known amount of work.
 *
 * Kernel command line:
 *   fill=N   write pseudo-random words over N MiB of RAM at boot, so that
 *            the first copy moves real pages rather than zero pages;
 *   dirty=M  then keep writing one word into every 4 KiB page of the
 *            first M MiB of that area, for ever (0: stop the CPU).
 *
 * A migration capped at B MiB/s converges when M is well below what B can
 * copy within the allowed downtime, and never converges when M is larger.
 * Progress lines go to the first serial port: "memload: ready" once the
 * fill is done, then "memload: beat <n>" now and then while dirtying.
 */

#include "serial.h"

#define MULTIBOOT_MAGIC 0x1BADB002u
#define MULTIBOOT_WANT_MEMINFO 0x00000002u
#define MULTIBOOT_BOOTED 0x2BADB002u
#define INFO_HAS_MEMORY 0x1u
#define INFO_HAS_CMDLINE 0x4u

#define MIB (1024u * 1024u)
#define PAGE_WORDS (4096u / sizeof(uint32))
#define AREA_START (2u * MIB)
#define BEAT_EVERY 2048u

__attribute__((section(".mbheader"), used, aligned(4)))
static const uint32 mb_header[3] = {
    MULTIBOOT_MAGIC, MULTIBOOT_WANT_MEMINFO,
    0u - (MULTIBOOT_MAGIC + MULTIBOOT_WANT_MEMINFO),
};

static uint8 boot_stack[8192] __attribute__((aligned(16), used));

void guest_main(uint32 magic, const uint32 *info);

__asm__(
    ".section .text\n"
    ".global entry\n"
    "entry:\n"
    "    lea boot_stack + 8192, %esp\n"
    "    pushl %ebx\n"
    "    pushl %eax\n"
    "    call guest_main\n"
    "stop:\n"
    "    cli\n"
    "    hlt\n"
    "    jmp stop\n");

/* Value of "name=<digits>" in the command line, or 0. */
static uint32 argument(const char *cmdline, const char *name)
{
    const char *word = cmdline;

    while (word && *word) {
        const char *n = name, *c = word;
        while (*n && *c == *n) {
            n++;
            c++;
        }
        if (!*n && *c == '=') {
            uint32 value = 0;
            for (c++; *c >= '0' && *c <= '9'; c++)
                value = value * 10 + (uint32)(*c - '0');
            return value;
        }
        while (*word && *word != ' ')
            word++;
        while (*word == ' ')
            word++;
    }
    return 0;
}

void guest_main(uint32 magic, const uint32 *info)
{
    const char *cmdline = "";
    uint32 ram_end = 16u * MIB, usable_mib, fill_mib, dirty_mib;
    uint32 state = 2463534242u, pass = 0;
    volatile uint32 *word, *end;

    if (magic == MULTIBOOT_BOOTED) {
        if (info[0] & INFO_HAS_MEMORY)
            ram_end = MIB + info[2] * 1024u;   /* mem_upper is in KiB */
        if (info[0] & INFO_HAS_CMDLINE)
            cmdline = (const char *)info[4];
    }
    usable_mib = ram_end > AREA_START ? (ram_end - AREA_START) / MIB : 0;
    fill_mib = argument(cmdline, "fill");
    dirty_mib = argument(cmdline, "dirty");
    if (fill_mib > usable_mib)
        fill_mib = usable_mib;
    if (dirty_mib > usable_mib)
        dirty_mib = usable_mib;

    serial_init();
    say("memload: fill=");
    say_number(fill_mib);
    say(" dirty=");
    say_number(dirty_mib);
    say(" usable=");
    say_number(usable_mib);
    say("\n");

    end = (volatile uint32 *)(AREA_START + fill_mib * MIB);
    for (word = (volatile uint32 *)AREA_START; word < end; word++) {
        state ^= state << 13;   /* xorshift32: cheap, never zero */
        state ^= state >> 17;
        state ^= state << 5;
        *word = state;
    }
    say("memload: ready\n");
    if (!dirty_mib)
        return;   /* entry stops the CPU */

    end = (volatile uint32 *)(AREA_START + dirty_mib * MIB);
    for (;;) {
        for (word = (volatile uint32 *)AREA_START; word < end;
             word += PAGE_WORDS)
            *word = pass;
        if (++pass % BEAT_EVERY == 0) {
            say("memload: beat ");
            say_number(pass / BEAT_EVERY);
            say("\n");
        }
    }
}
