export const OPENAPI_TYPES_FILE: string;
export function renderOpenApiTypes(document: object): Promise<string>;
