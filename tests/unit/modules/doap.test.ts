import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { collectSpecs, generate, renderCompliance, REPO_ROOT } from '../../../scripts/generate-doap.ts';
import { MODULES } from '../../../modules/index.ts';

describe('generated DOAP and compliance table', () => {
  test('the committed meerkat.doap and docs/compliance.md equal the generator output', () => {
    for (const file of generate(REPO_ROOT)) {
      // If this fails: run `bun scripts/generate-doap.ts` and commit the result.
      expect(readFileSync(file.path, 'utf8')).toBe(file.text);
    }
  });

  test('every XEP a module declares is in the DOAP with the module named', () => {
    const doap = generate(REPO_ROOT).find((f) => f.path.endsWith('meerkat.doap'))!.text;
    for (const m of MODULES) {
      for (const xep of (m.xeps ?? []).filter((x) => x.startsWith('XEP-'))) {
        const url = `https://xmpp.org/extensions/xep-${xep.slice(4)}.html`;
        const at = doap.indexOf(url);
        expect(at).toBeGreaterThan(0);
        expect(doap.slice(at, doap.indexOf('</xmpp:SupportedXep>', at))).toContain(m.name);
      }
    }
  });

  test('specs are merged, ordered RFCs first, and bad declarations are refused', () => {
    const specs = collectSpecs([
      { name: 'mod_b', specs: ['XEP-0199', 'RFC 6120'] },
      { name: 'mod_a', specs: ['XEP-0199', 'XEP-0012'] },
    ]);
    expect(specs).toEqual([
      { id: 'RFC 6120', implementedBy: ['mod_b'] },
      { id: 'XEP-0012', implementedBy: ['mod_a'] },
      { id: 'XEP-0199', implementedBy: ['mod_a', 'mod_b'] },
    ]);
    expect(renderCompliance(specs)).toContain('| [XEP-0199](https://xmpp.org/extensions/xep-0199.html) | XMPP Ping | `mod_a`, `mod_b` |');
    expect(() => collectSpecs([{ name: 'mod_x', specs: ['xep-199'] }])).toThrow('mod_x');
  });
});
