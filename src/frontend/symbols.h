/*
 * symbols.h - guest symbol tables for traces and the monitor (-symbols FILE):
 * a System.map (text lines "ADDRESS TYPE NAME", as the kernel build and
 * /proc/kallsyms write them) or a 32-bit little-endian ELF file (function
 * and object symbols of .symtab and .dynsym, with their sizes).
 *
 * Files are untrusted: every offset and length is checked, and a malformed
 * file gives an error message (file name and line or section), never a
 * crash. Several files can be loaded into one table.
 *
 * Lookup is a binary search in an array sorted by address. A symbol covers
 * [address, address + size) when the file gives a size, else up to the next
 * symbol's address (the last one without a size covers only its address).
 * Functions (System.map T/t/W/w, ELF STT_FUNC) and variables (the other
 * types: D/d, B/b, R/r, ...; STT_OBJECT) are told apart: code addresses
 * (traces, EIP, x/i) are looked up among functions only, and a function
 * without a size reaches up to the next function whatever variables lie
 * between; data addresses (the monitor's x, watchpoint stops) among both,
 * a variable without a size reaching up to the next symbol of any kind.
 *
 * Use:
 *     SymTab *s = symtab_new();
 *     if (symtab_load_file(s, "System.map", err, sizeof err) < 0) ...
 *     char where[128];
 *     if (symtab_format(s, eip, where, sizeof where)) ... // "do_sys_open+0x14"
 *     symtab_free(s);
 */
#ifndef BT86_SYMBOLS_H
#define BT86_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SymTab SymTab;

SymTab *symtab_new(void);
void symtab_free(SymTab *s);

/* Load a file: ELF when it starts with the ELF magic, else a System.map.
 * Returns the number of symbols added, or -1 with a message in err. */
long symtab_load_file(SymTab *s, const char *path, char *err, size_t errlen);
/* The same for a file's contents in memory (name is used in messages). */
long symtab_load_buffer(SymTab *s, const char *name, const uint8_t *data, size_t len, char *err,
                        size_t errlen);

/* The function covering a code address: its name and addr's offset in it;
 * NULL if none. */
const char *symtab_lookup(const SymTab *s, uint32_t addr, uint32_t *offset);
/* The symbol covering a data address: a variable or, when none covers it,
 * a function; NULL if none. */
const char *symtab_lookup_data(const SymTab *s, uint32_t addr, uint32_t *offset);
/* "name+0xOFF" into buf; false (buf = "") when no symbol covers addr:
 * symtab_lookup, symtab_lookup_data. */
bool symtab_format(const SymTab *s, uint32_t addr, char *buf, size_t size);
bool symtab_format_data(const SymTab *s, uint32_t addr, char *buf, size_t size);
size_t symtab_count(const SymTab *s);

#endif
