// The part of ltx the differential tests use (the package ships no type declarations).
declare module 'ltx' {
  export function parse(xml: string): unknown;
}
