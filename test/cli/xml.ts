/**
 * A small well-formedness check for the SVG the bench writes (no XML
 * dependency): every tag closes in order, attributes are quoted, entities
 * are known, and the text content comes back for assertions.
 */
export interface ParsedXml {
  root: string;
  /** Every element name, in document order. */
  elements: string[];
  /** Text content of every element, entities decoded. */
  texts: string[];
}

const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
const NAME = /^[A-Za-z_][\w.:-]*$/;

function decode(s: string, where: number): string {
  const stray = s.replace(ENTITY, '').indexOf('&');
  if (stray >= 0) throw new Error(`bare '&' in text or attribute near offset ${where}`);
  return s.replace(ENTITY, (_, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : String.fromCodePoint(Number(e.startsWith('#x') ? `0x${e.slice(2)}` : e.slice(1))),
  );
}

export function parseXml(xml: string): ParsedXml {
  const stack: string[] = [];
  const elements: string[] = [];
  const texts: string[] = [];
  let root = '';
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (text.trim() !== '') {
      if (stack.length === 0) throw new Error(`text outside the root element near offset ${i}`);
      if (text.includes('>')) throw new Error(`bare '>' in text near offset ${i}`);
      texts.push(decode(text, i));
    }
    if (lt < 0) break;
    if (xml.startsWith('<?', lt)) {
      i = xml.indexOf('?>', lt) + 2;
      if (i < 2) throw new Error('unterminated processing instruction');
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      i = xml.indexOf('-->', lt) + 3;
      if (i < 3) throw new Error('unterminated comment');
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error(`unterminated tag at offset ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}> at offset ${lt}`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([^\s]+)([\s\S]*)$/.exec(body);
    if (!m || !NAME.test(m[1]!)) throw new Error(`bad element name in <${tag}> at offset ${lt}`);
    const name = m[1]!;
    let attrs = m[2]!.trim();
    const seen = new Set<string>();
    while (attrs !== '') {
      const a = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')\s*/.exec(attrs);
      if (!a) throw new Error(`bad attribute syntax in <${name}> at offset ${lt}: ${attrs.slice(0, 40)}`);
      if (seen.has(a[1]!)) throw new Error(`duplicate attribute ${a[1]} in <${name}> at offset ${lt}`);
      seen.add(a[1]!);
      decode(a[3] ?? a[4] ?? '', lt);
      attrs = attrs.slice(a[0].length);
    }
    if (stack.length === 0) {
      if (root) throw new Error(`a second root element <${name}> at offset ${lt}`);
      root = name;
    }
    elements.push(name);
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (!root) throw new Error('no root element');
  return { root, elements, texts };
}
