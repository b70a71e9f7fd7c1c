/* SPDX-License-Identifier: MIT */
/* domain-xml.h - the libvirt domain definition of a snapvm guest. */
#ifndef SNAPVM_DOMAIN_XML_H
#define SNAPVM_DOMAIN_XML_H

#include <glib.h>

#include "host/machine/machine.h"

/* XML namespace of snapvm's <metadata> element in a domain. */
#define SV_DOMAIN_XMLNS "https://snapvm.dev/xmlns/machine/1"

/* emulator: absolute path of the QEMU binary. Returns newly allocated XML. */
char *sv_domain_xml_build(const SvMachine *m, const SvMachineConfig *config, const char *emulator);

#endif
