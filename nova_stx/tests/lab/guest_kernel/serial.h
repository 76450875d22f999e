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
 * What every lab guest kernel needs: fixed-width types, I/O ports, and
 * text and numbers on the first serial port (115200 8N1, polled).
 */

#ifndef NOVA_STX_LAB_SERIAL_H
#define NOVA_STX_LAB_SERIAL_H

typedef unsigned int uint32;
typedef unsigned short uint16;
typedef unsigned char uint8;

#define COM1 0x3f8

static void port_write(uint16 port, uint8 value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static uint8 port_read(uint16 port)
{
    uint8 value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static void serial_init(void)
{
    port_write(COM1 + 1, 0x00);   /* no interrupts */
    port_write(COM1 + 3, 0x80);   /* divisor latch on */
    port_write(COM1 + 0, 0x01);   /* 115200 baud */
    port_write(COM1 + 1, 0x00);
    port_write(COM1 + 3, 0x03);   /* 8N1, latch off */
}

static void say_char(char c)
{
    while (!(port_read(COM1 + 5) & 0x20))
        ;
    port_write(COM1, (uint8)c);
}

static void say(const char *text)
{
    for (; *text; text++)
        say_char(*text);
}

static void say_number(uint32 value)
{
    char digits[12];
    int pos = sizeof(digits) - 1;

    digits[pos] = '\0';
    do {
        digits[--pos] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    say(&digits[pos]);
}

#endif
