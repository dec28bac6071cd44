/* default.c - The default configuration, embedded in the binary so that
 * the exporter runs without any file (config/gwlog_exporter.yml). */

#include "config/default.h"


__asm__(
    "    .section .rodata\n"
    "    .global config_default_yaml\n"
    "    .type config_default_yaml, @object\n"
    "config_default_yaml:\n"
    "    .incbin \"config/gwlog_exporter.yml\"\n"
    "    .global config_default_yaml_end\n"
    "config_default_yaml_end:\n"
    "    .byte 0\n"
    "    .previous\n");
