export { ApiErrorResponses, TRANSPORT_ERROR_RESPONSES } from './api-error-responses.decorator.js';
export { PageRequestDto } from './page.request.dto.js';
